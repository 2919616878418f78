// Feedback on every scan, so an operator knows without looking: a short tone (one high beep: taken; two low beeps:
// refused), a vibration where the device has one, and #feedback shown green or red with the message for ~2 s.
// The texts of scan refusals live here in both languages (scanErrorText), so the scanner needs no catalog.

const SHOW_MS = 2000;
let audio = null;
let hideTimer = null;

const SCAN_ERRORS = {
  en: {
    empty_scan: "Nothing was scanned",
    too_long: "The scan is too long",
    control_character: "The scan holds a character a label never has: check the scanner's settings",
    invalid_symbology: "Unknown barcode type prefix: check the scanner's settings",
    invalid_gs1: "Not a valid GS1 barcode",
    bad_check_digit: "Check digit wrong: scan again or type the code",
    camera_unavailable: "The camera cannot be used",
  },
  zh: {
    empty_scan: "没有扫描到内容",
    too_long: "扫描内容过长",
    control_character: "扫描内容含有标签中不会出现的字符：请检查扫描枪设置",
    invalid_symbology: "未知的条码类型前缀：请检查扫描枪设置",
    invalid_gs1: "不是有效的 GS1 条码",
    bad_check_digit: "校验位错误：请重新扫描或手动输入",
    camera_unavailable: "无法使用摄像头",
  },
};

/** The operator's text for a scan error code, in the page's language (zh unless <html lang> says English). */
export function scanErrorText(code, language = document.documentElement.lang) {
  const texts = String(language || "").startsWith("en") ? SCAN_ERRORS.en : SCAN_ERRORS.zh;
  return texts[code] || SCAN_ERRORS.en[code] || code;
}

function tone(ok) {
  try {
    audio ??= new AudioContext();
    if (audio.state === "suspended") audio.resume();
    const start = audio.currentTime;
    const beeps = ok ? [[0, 0.08, 1320]] : [[0, 0.12, 330], [0.18, 0.12, 330]];
    for (const [offset, length, frequency] of beeps) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = ok ? "sine" : "square";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + length);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + length + 0.02);
    }
  } catch {
    // no audio on this device: the colour and the vibration still tell
  }
}

/** Tell the operator a scan (or an action) was taken (ok) or refused, with a short message. */
export function feedback(ok, message = "") {
  tone(ok);
  if (typeof navigator.vibrate === "function") {
    try {
      navigator.vibrate(ok ? 40 : [90, 60, 90]);
    } catch {
      // vibration refused (no user activation yet): fine
    }
  }
  const box = document.getElementById("feedback");
  if (!box) return;
  box.textContent = message;
  box.classList.remove("ok", "bad");
  box.classList.add(ok ? "ok" : "bad");
  box.dataset.shownAt = String(performance.now());
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => box.classList.remove("ok", "bad"), SHOW_MS);
}
