// Scans on a form (scanner.js: keyboard-wedge bursts; feedback.js: tone, vibration, colour). A GS1 scan with a GTIN
// fills the item (found by its GTIN in the replica), and its lot, expiry and count where the form has those fields; an
// SSCC goes to the form's sscc field, if it has one; any other scan replaces the value of the field it went into (or the first empty one). Then the next empty field after
// it (else the submit button) takes the focus, so a form fills by scanning alone. Offline: only the replica is asked.
import { listenForScans, openCamera } from "/app/scanner.js";
import { feedback } from "/app/feedback.js";
import { replica } from "/app/db.js";
import { t, errorText } from "/app/i18n.js";
import { h } from "/app/screens/ui.js";

async function itemByGtin(gtin) {
  const items = await replica("item");
  return items.find((entry) => entry.data?.gtin && String(entry.data.gtin).padStart(14, "0") === gtin)?.data || null;
}

/** Take scans into `form` while it is on screen; returns stop(). `quantityField` names the field a GS1 count fills. */
export function attachScanning(form, { quantityField = "quantity" } = {}) {
  const inputs = () => [...form.querySelectorAll("input:not([type=hidden]):not([disabled])")];
  const named = (name) => form.querySelector(`input[name="${name}"]`);
  const set = (input, value) => {
    input.value = value;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  };
  const focusAfter = (input, skip = null) => {
    const list = inputs().filter((i) => i !== skip);
    const next = list.slice(list.indexOf(input) + 1).find((i) => !i.value);
    (next || form.querySelector("button[type=submit]"))?.focus();
  };

  const handle = (scan) => {
    if (!form.isConnected) return false;
    const target = scan.target && form.contains(scan.target) ? scan.target : inputs().find((i) => !i.value) || inputs()[0];
    const before = target && scan.target === target ? target.value.slice(0, target.value.length - scan.raw.length) : null;
    if (scan.error) {
      if (before !== null) target.value = before;  // take back what the scanner typed
      feedback(false, errorText(scan.error));
      return true;
    }
    const reading = scan.reading;
    (async () => {
      if (reading.kind === "gs1" && reading.gtin) {
        const item = await itemByGtin(reading.gtin);
        if (!item) {
          if (before !== null) target.value = before;
          feedback(false, t("valid.unknown_item", { item: reading.gtin }));
          return;
        }
        set(named("item"), item.code);
        if (reading.lot && named("lot")) set(named("lot"), reading.lot);
        if (reading.expiry && named("expiry")) set(named("expiry"), reading.expiry);
        if (reading.quantity && named(quantityField)) set(named(quantityField), reading.quantity);
        if (target !== named("item") && before !== null) target.value = before;
        feedback(true, item.code);
        focusAfter(named("item"), item.lot_tracked ? null : named("lot"));  // no lot to scan for this item
      } else if (reading.kind === "gs1" && reading.sscc && named("sscc")) {  // a handling unit's label
        set(named("sscc"), reading.sscc);
        if (target !== named("sscc") && before !== null) target.value = before;
        feedback(true, reading.sscc);
        focusAfter(named("sscc"));
      } else {
        const value = reading.code ?? reading.sscc ?? reading.text;
        set(target, value);
        feedback(true, value);
        focusAfter(target);
      }
    })();
    return true;
  };
  const stopWedge = listenForScans(handle);
  const stopCamera = cameraButton(form, handle);
  return () => { stopWedge(); stopCamera(); };
}

/** A button that opens the rear camera above the form: every code it sees is taken like a scanner's (the decoder
 * is the native BarcodeDetector, else the zxing-wasm polyfill loaded from our server the first time). */
function cameraButton(form, handle) {
  const video = h("video", { class: "camera-view", id: "camera-view", hidden: true, muted: true, playsinline: true });
  const button = h("button", { type: "button", class: "secondary camera", id: "camera-toggle" }, t("scan.camera_open"));
  let stop = null;
  const close = () => {
    stop?.();
    stop = null;
    video.hidden = true;
    button.textContent = t("scan.camera_open");
    button.dataset.state = "off";
  };
  button.addEventListener("click", async () => {
    if (stop) { close(); return; }
    button.dataset.state = "starting";
    video.hidden = false;
    try {
      stop = await openCamera(video, (scan) => { if (!handle(scan)) close(); });
      button.textContent = t("scan.camera_close");
      button.dataset.state = "on";
    } catch {
      close();
      feedback(false, t("scan.camera_unavailable"));
    }
  });
  form.prepend(h("div", { class: "camera-bar" }, button, video));
  return close;
}
