// The scanner test page (scan-test.html): every wedge or camera scan is read offline and shown, with feedback.
// window.scanHarness keeps what the tests and the benchmark read: scans, and timings (ms from the key that ended a
// wedge scan to the frame after its feedback was shown).
import { listenForScans, openCamera } from "/app/scanner.js";
import { feedback } from "/app/feedback.js";
import * as i18n from "/app/i18n.js";

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" });

await i18n.init(); // the operator's language, as the app has it (Chinese unless English was chosen)
const harness = { scans: [], timings: [], cameraState: "off" };
window.scanHarness = harness;
const gsStandin = new URLSearchParams(location.search).get("gs") || null;
const show = (id, text) => { document.getElementById(id).textContent = text ?? ""; };
let endedAt = null;

// Before the scanner's own listener (window capture runs before document capture): when the ending key came.
window.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === "Tab") endedAt = event.timeStamp;
}, true);

function afterPaint(callback) {
  requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = callback;
    channel.port2.postMessage(null);
  });
}

function onScan(scan) {
  const { raw, source, reading, error } = scan;
  harness.scans.push({ raw, source, reading, error: error && { code: error.code, message: error.message } });
  show("r-source", source);
  show("r-kind", reading?.kind);
  show("r-gtin", reading?.gtin);
  show("r-lot", reading?.lot);
  show("r-expiry", reading?.expiry);
  show("r-serial", reading?.serial);
  show("r-code", reading?.code);
  show("r-error", error?.code);
  show("reading", JSON.stringify(reading || { error: error.code }, null, 1));
  show("count", harness.scans.length);
  if (reading) feedback(true, reading.kind === "code" ? reading.code : [reading.gtin || reading.sscc, reading.lot].filter(Boolean).join(" · "));
  else feedback(false, i18n.errorText(error));
  if (source === "wedge" && endedAt !== null) {
    const start = endedAt;
    endedAt = null;
    afterPaint(() => harness.timings.push(performance.now() - start));
  }
  if (scan.target) scan.target.value = "";
}

listenForScans(onScan, { gsStandin });

let stopCamera = null;
document.getElementById("camera-start").addEventListener("click", async () => {
  if (stopCamera) return;
  harness.cameraState = "starting";
  show("state", "…");
  try {
    stopCamera = await openCamera(document.getElementById("camera"), onScan, { gsStandin });
    harness.cameraState = "on";
    show("state", "📷");
  } catch (error) {
    harness.cameraState = `error: ${error.name}`;
    show("state", i18n.t("scan.camera_unavailable"));
    feedback(false, i18n.t("scan.camera_unavailable"));
  }
});
document.getElementById("camera-stop").addEventListener("click", () => {
  stopCamera?.();
  stopCamera = null;
  harness.cameraState = "off";
  show("state", "");
});
