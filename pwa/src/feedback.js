// Feedback on every scan, so an operator knows without looking: a short tone (one high beep: taken; two low beeps:
// refused), a vibration where the device has one, and #feedback shown green or red with the message for ~2 s.
// The message comes from the caller, in the operator's language: a scan refusal (ScanError, whose codes are the
// server's) is i18n.errorText(error), from the catalogs' error.<code> keys.

const SHOW_MS = 2000;
let audio = null;
let hideTimer = null;

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
