// Scanning: keyboard-wedge scanners (a scanner that types) and the camera, both delivering
// onScan({raw, source: "wedge" | "camera", reading, error, target}) where reading is readScan(raw) (gs1.js) or null
// and error the ScanError (with .code) or null. Offline, no server round trip.
//
// Wedge: a scanner types far faster than a person. A burst is keystrokes whose mean gap is at most MAX_MEAN_GAP_MS
// (35 ms), none more than MAX_PAUSE_MS apart, at least MIN_CHARS long, ended by Enter or Tab; slower typing is left
// alone. A scanner that cannot type GS (ASCII 29) types the configured stand-in (gsStandin), or Ctrl+] (which is GS
// on a keyboard). When the burst went into a text field, the field's value (what the burst added to it) is the scan:
// it holds characters inserted without key events too. The Enter or Tab that ends a scan is kept from the page (no
// form submit, no focus move) unless onScan returns false; each scan is delivered once.
//
// Camera: getUserMedia (the rear camera), the native BarcodeDetector where the browser has one, else the
// barcode-detector ponyfill (zxing-wasm) loaded lazily from our own server, wasm included. A code is delivered once;
// the same code seen again within REPEAT_MS is a repeat and ignored.
import { GS, readScan } from "/app/gs1.js";

export const MAX_MEAN_GAP_MS = 35;
export const MAX_PAUSE_MS = 250;
export const LEAD_GAP_MS = 2 * MAX_MEAN_GAP_MS;
export const MIN_CHARS = 4;
export const REPEAT_MS = 1500;
const CAMERA_FORMATS = ["code_128", "data_matrix", "qr_code", "ean_13", "ean_8", "upc_a", "upc_e", "itf", "code_39"];
// Symbols that can carry a GS1 element string, and the AIM identifier a scanner would have sent with one.
const GS1_CAPABLE = { data_matrix: "]d2", code_128: "]C1", qr_code: "]Q3" };

function scanOf(raw, source, gsStandin, target = null) {
  try {
    return { raw, source, reading: readScan(raw, gsStandin), error: null, target };
  } catch (error) {
    if (!error.code) throw error;
    return { raw, source, reading: null, error, target };
  }
}

function isTextField(element) {
  if (element instanceof HTMLTextAreaElement) return !element.readOnly && !element.disabled;
  if (!(element instanceof HTMLInputElement) || element.readOnly || element.disabled) return false;
  return ["text", "search", "url", "tel", "email", "password", "number", ""].includes(element.type);
}

/** Listen for keyboard-wedge scans on the whole document; returns stop(). */
export function listenForScans(onScan, { gsStandin = null } = {}) {
  let keys = []; // {char, time, at: the caret in the field before the key}
  let field = null; // the text field the keys went into (null: none)
  let before = ""; // its value when the first of them came

  const reset = () => {
    keys = [];
    field = null;
  };

  // Where the burst starts in `keys`, or -1 when the keys are no scan. Keys a person typed just before a scan
  // (followed by a gap of more than LEAD_GAP_MS) are not part of it; one stall inside a burst (the browser busy)
  // does not split it, as the mean gap counts.
  function burstStart(endTime) {
    if (!keys.length || endTime - keys.at(-1).time > MAX_PAUSE_MS) return -1;
    let start = 0;
    while (start < keys.length - 1 && keys[start + 1].time - keys[start].time > LEAD_GAP_MS) start += 1;
    const count = keys.length - start;
    if (count < MIN_CHARS) return -1;
    return (keys.at(-1).time - keys[start].time) / (count - 1) <= MAX_MEAN_GAP_MS ? start : -1;
  }

  function onKeyDown(event) {
    if (event.isComposing) return;
    const now = event.timeStamp || performance.now();
    if (keys.length && now - keys.at(-1).time > MAX_PAUSE_MS) reset();
    if (event.key === "Enter" || event.key === "Tab") {
      const start = burstStart(now);
      if (start < 0) {
        reset();
        return;
      }
      let raw = keys.slice(start).map((key) => key.char).join("");
      const target = field && field === document.activeElement ? field : null;
      if (target) {
        // The field holds what the scanner typed, characters sent without key events (a GS) included.
        const at = keys[start].at;
        const end = target.selectionEnd;
        raw = at !== null && end !== null && end >= at ? target.value.slice(at, end)
          : target.value.startsWith(before) ? target.value.slice(before.length) : target.value;
      }
      reset();
      const scan = scanOf(raw, "wedge", gsStandin, target);
      if (onScan(scan) !== false) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
      return;
    }
    let char = null;
    if (event.ctrlKey && (event.key === "]" || event.code === "BracketRight")) char = GS;
    else if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) char = event.key;
    else if (event.key === "Shift" || event.key === "CapsLock") return; // a scanner shifts for capitals
    if (char === null) {
      reset();
      return;
    }
    const into = isTextField(event.target) ? event.target : null;
    if (keys.length && into !== field) reset();
    if (!keys.length) {
      field = into;
      before = field ? field.value : "";
    }
    const at = field ? field.selectionStart : null;
    if (char === GS && field) {
      // Ctrl+] types nothing into a field: put the GS where the scanner meant it.
      event.preventDefault();
      field.setRangeText(GS, field.selectionStart ?? field.value.length, field.selectionEnd ?? field.value.length, "end");
    }
    keys.push({ char, time: now, at });
  }

  document.addEventListener("keydown", onKeyDown, true);
  return () => document.removeEventListener("keydown", onKeyDown, true);
}

/** What a camera read means as a scanner would have sent it: GS1 symbols get their AIM identifier back. The
 * BarcodeDetector API gives only the text: FNC1 separators come as GS, the leading FNC1 as a leading GS or not at
 * all, so a DataMatrix/Code 128/QR is GS1 when it holds a GS, or when its text reads as a GS1 element string. */
export function cameraRaw(rawValue, format) {
  const prefix = GS1_CAPABLE[format];
  if (!prefix || rawValue.startsWith("]")) return rawValue;
  if (rawValue.includes(GS)) return prefix + rawValue.replace(/^\x1d+/, "");
  if (/^[0-9]{2}/.test(rawValue) && !/^[0-9]+$/.test(rawValue)) {
    try {
      readScan(prefix + rawValue);
      return prefix + rawValue;
    } catch {
      return rawValue;
    }
  }
  return rawValue;
}

let ponyfill = null;

async function detectorClass() {
  if ("BarcodeDetector" in globalThis) {
    try {
      const supported = await globalThis.BarcodeDetector.getSupportedFormats();
      if (supported.includes("qr_code") && supported.includes("data_matrix")) return globalThis.BarcodeDetector;
    } catch {
      // a native detector that cannot say what it reads: use the ponyfill
    }
  }
  if (!ponyfill) {
    ponyfill = await import("/app/vendor/barcode-detector/ponyfill.js");
    ponyfill.setZXingModuleOverrides({
      locateFile: (path, prefix) => (path.endsWith(".wasm") ? "/app/vendor/zxing_reader.wasm" : prefix + path),
    });
  }
  return ponyfill.BarcodeDetector;
}

/** Show the rear camera in videoElement and deliver each code it sees; returns stop(). Rejects when there is no
 * camera or the user refuses it (a DOMException: NotAllowedError, NotFoundError). */
export async function openCamera(videoElement, onScan, { gsStandin = null, intervalMs = 150 } = {}) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: false,
  });
  let stopped = false;
  let timer = null;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    videoElement.srcObject = null;
  };
  try {
    videoElement.muted = true;
    videoElement.playsInline = true;
    videoElement.srcObject = stream;
    await videoElement.play();
    const Detector = await detectorClass();
    const supported = await Detector.getSupportedFormats();
    const detector = new Detector({ formats: CAMERA_FORMATS.filter((format) => supported.includes(format)) });
    const seen = new Map(); // raw -> when last seen
    const tick = async () => {
      if (stopped) return;
      try {
        if (videoElement.readyState >= 2) {
          const now = performance.now();
          for (const barcode of await detector.detect(videoElement)) {
            const raw = cameraRaw(barcode.rawValue, barcode.format);
            const last = seen.get(raw);
            seen.set(raw, now);
            if (last !== undefined && now - last < REPEAT_MS) continue;
            if (!stopped) onScan(scanOf(raw, "camera", gsStandin));
          }
        }
      } catch (error) {
        console.warn("barcode detection failed", error);
      }
      if (!stopped) timer = setTimeout(tick, intervalMs);
    };
    tick();
  } catch (error) {
    stop();
    throw error;
  }
  return stop;
}
