// Delivery sign-off on the driver's device: per line the quantity delivered (the quantity shipped unless the driver
// lowers it: the difference is a shortfall and needs a reason), the signer's name, the customer's signature on a
// pad (signature_pad: pointer events, exported as PNG), an optional photo (the camera through a file input,
// re-encoded as a JPEG of at most 2 MB), the position when the device gives one (never waited for), and the time
// signed on the server's clock as this device knows it. Checked locally (refused without a signature or a name),
// then queued as delivery.sign. Opened from needs-attention with ?fix=<id>, it is pre-filled with the refused one.
import { t } from "/app/i18n.js";
import { h, field, notice, wedgeForm, code } from "/app/screens/ui.js";
import { toMicro, microText } from "/app/overlay.js";
import SignaturePad from "/app/vendor/signature_pad.js";
import { shipmentView } from "/app/screens/shipping.js";
import { checkField, opening, send } from "/app/screens/command.js";

const SIGNATURE_MAX_BYTES = 200 * 1024;
const PHOTO_MAX_BYTES = 2 * 1024 * 1024;
const PHOTO_MAX_SIDE = 1600;
const POSITION_TIMEOUT_MS = 8000;
const DATA_URL_PREFIX = /^data:[^,]*;base64,/;

const base64Bytes = (text) => Math.floor((text.length * 3) / 4) - (text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0);

function blobBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(DATA_URL_PREFIX, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** A photo of any format the browser reads as a JPEG within the server's limit: scaled to at most PHOTO_MAX_SIDE,
 * then smaller and at lower quality until it fits. */
async function photoJpeg(file) {
  const bitmap = await createImageBitmap(file);
  let scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  for (let quality = 0.85; ; quality -= 0.15) {
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff";  // a transparent PNG's background would turn black
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", Math.max(quality, 0.4)));
    if (blob.size <= PHOTO_MAX_BYTES || canvas.width <= 200) return blob;
    if (quality <= 0.4) scale *= 0.7;
  }
}

/** The signature as PNG base64, drawn smaller when a large screen made it too big for the server. */
function signaturePng(pad, canvas) {
  let png = pad.toDataURL("image/png").replace(DATA_URL_PREFIX, "");
  for (let scale = 0.5; base64Bytes(png) > SIGNATURE_MAX_BYTES && scale > 0.1; scale /= 2) {
    const small = document.createElement("canvas");
    small.width = Math.round(canvas.width * scale);
    small.height = Math.round(canvas.height * scale);
    small.getContext("2d").drawImage(canvas, 0, 0, small.width, small.height);
    png = small.toDataURL("image/png").replace(DATA_URL_PREFIX, "");
  }
  return png;
}

export async function render(root, ctx) {
  const { params, sync } = ctx;
  const { fixing, given } = await opening(params);
  const shipment = await shipmentView(given.shipment);
  const back = h("p", {}, h("a", { class: "button secondary", href: "#/route" }, t("route.back")));
  root.append(h("h1", {}, t("deliver.title", { shipment: given.shipment || "" })));
  if (!shipment || (shipment.status !== "loaded" && !fixing)) {
    const problem = !shipment ? t("valid.unknown_shipment", { shipment: given.shipment || "" })
      : t("valid.shipment_status", { shipment: shipment.code, status: t(`ship.status.${shipment.status}`) });
    root.append(notice("bad", problem), back);
    return null;
  }

  const shortGiven = Object.fromEntries((given.shortfalls || []).map((s) => [s.line_no, s]));
  const lineFields = shipment.lines.map((line) => {
    const shipped = toMicro(line.packed_quantity) ?? 0n;
    const short = shortGiven[line.line_no];
    const delivered = field(`delivered_${line.line_no}`, "deliver.delivered", {
      value: short ? microText(shipped - (toMicro(short.quantity) ?? 0n)) : line.packed_quantity, inputmode: "decimal" });
    delivered.wrapper.querySelector(".label").textContent =
      t("deliver.line_text", { line: line.line_no, item: line.item, shipped: line.packed_quantity });
    const reason = field(`reason_${line.line_no}`, "deliver.reason", { value: short?.reason || "", maxlength: 200, autocapitalize: "sentences" });
    const showReason = () => {
      const micro = toMicro(delivered.input.value);
      const lower = micro !== null && micro < shipped;
      reason.wrapper.hidden = !lower;
      reason.input.disabled = !lower;
    };
    delivered.input.addEventListener("input", showReason);
    showReason();
    return { line, shipped, delivered, reason };
  });
  const signer = field("signer_name", "deliver.signer", { value: given.signer_name || "", required: true, maxlength: 200, autocapitalize: "words" });
  const canvas = h("canvas", { class: "signature-pad", id: "signature", "aria-label": t("deliver.signature") });
  const signatureProblem = h("span", { class: "problem", id: "p-signature", "aria-live": "polite" });
  const photoInput = h("input", { type: "file", accept: "image/*", capture: "environment", id: "f-photo", name: "photo" });
  const photoPreview = h("div", { class: "photo-preview", id: "photo-preview" });
  const position = h("p", { class: "position", id: "position", dataset: { state: "waiting" } }, t("deliver.position_waiting"));
  const button = h("button", { type: "submit" }, t("deliver.submit"));
  let photo = given.photo_jpeg || null;
  let place = null;

  function showPhoto(blob) {
    photoPreview.replaceChildren();
    if (!photo) return;
    const url = URL.createObjectURL(blob);
    photoPreview.append(h("img", { src: url, alt: t("deliver.photo"), onload: () => URL.revokeObjectURL(url) }),
      h("button", { type: "button", class: "secondary", id: "photo-remove",
        onclick: () => { photo = null; photoInput.value = ""; photoPreview.replaceChildren(); } }, t("deliver.photo_remove")));
    photoPreview.dataset.bytes = String(blob.size);
  }

  photoInput.addEventListener("change", async () => {
    const file = photoInput.files?.[0];
    if (!file) return;
    photoPreview.replaceChildren(t("deliver.photo_busy"));
    try {
      const jpeg = await photoJpeg(file);
      photo = await blobBase64(jpeg);
      showPhoto(jpeg);
    } catch {
      photo = null;
      photoPreview.replaceChildren(notice("bad", t("deliver.photo_unreadable")));
    }
  });

  if ("geolocation" in navigator) {
    navigator.geolocation.getCurrentPosition((found) => {
      const { latitude, longitude, accuracy } = found.coords;
      place = { lat: latitude.toFixed(6), lon: longitude.toFixed(6),
        accuracy_m: Number.isFinite(accuracy) ? Math.min(accuracy, 100000).toFixed(2) : null };
      position.dataset.state = "ok";
      position.textContent = t("deliver.position_ok", { lat: place.lat, lon: place.lon });
    }, () => {
      position.dataset.state = "none";
      position.textContent = t("deliver.position_none");
    }, { enableHighAccuracy: true, timeout: POSITION_TIMEOUT_MS, maximumAge: 120_000 });
  } else {
    position.dataset.state = "none";
    position.textContent = t("deliver.position_none");
  }

  async function submit(event) {
    event.preventDefault();
    const shortfalls = [];
    let ok = true;
    for (const { line, shipped, delivered, reason } of lineFields) {
      const micro = toMicro(delivered.input.value);
      if (micro === null || micro < 0n) { delivered.problem(t("valid.quantity")); ok = false; continue; }
      if (micro > shipped) { delivered.problem(t("valid.more_than_shipped", { shipped: line.packed_quantity })); ok = false; continue; }
      delivered.problem("");
      const why = code(reason.input.value);
      reason.problem(micro < shipped && !why ? t("valid.shortfall_reason") : "");
      if (micro < shipped && !why) { ok = false; continue; }
      if (micro < shipped) shortfalls.push({ line_no: line.line_no, quantity: microText(shipped - micro), reason: why });
    }
    const name = await checkField("delivery.sign", signer);
    signatureProblem.textContent = pad.isEmpty() ? t("valid.signature_required") : "";
    canvas.toggleAttribute("aria-invalid", pad.isEmpty());
    if (!ok || !name || pad.isEmpty()) return;
    const args = { shipment: shipment.code, signer_name: name, signature_png: signaturePng(pad, canvas), shortfalls,
      photo_jpeg: photo, position: place, signed_at: sync.serverNow().toISOString() };
    if (!(await send(ctx, fixing, "delivery.sign", args))) return;
    root.replaceChildren(h("h1", {}, t("deliver.title", { shipment: shipment.code })),
      notice("ok", t("deliver.done", { shipment: shipment.code, name, shortfalls: shortfalls.length })), back);
  }

  const form = wedgeForm(h("form", { id: "deliver-form", onsubmit: submit, novalidate: true },
    h("p", { class: "order" }, t("route.customer", { customer: shipment.customer }), " · ", t("route.order", { order: shipment.sales_order, vehicle: shipment.vehicle || "—" })),
    ...lineFields.flatMap(({ delivered, reason }) => [delivered.wrapper, reason.wrapper]),
    signer.wrapper,
    h("div", { class: "signature" },
      h("span", { class: "label" }, t("deliver.signature")),
      canvas,
      signatureProblem,
      h("button", { type: "button", class: "secondary", id: "signature-clear", onclick: () => { pad.clear(); } }, t("deliver.clear"))),
    h("label", { for: "f-photo", class: "photo" }, h("span", { class: "label" }, t("deliver.photo")), photoInput),
    photoPreview,
    position,
    button));
  root.append(form, back);

  // The pad draws in device pixels (sharp on a phone), capped so the PNG stays well within the server's 200 KB.
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  canvas.width = Math.round(canvas.offsetWidth * ratio);
  canvas.height = Math.round(canvas.offsetHeight * ratio);
  canvas.getContext("2d").scale(ratio, ratio);
  const pad = new SignaturePad(canvas, { backgroundColor: "rgb(255,255,255)", penColor: "#000" });
  if (given.signature_png) await pad.fromDataURL(`data:image/png;base64,${given.signature_png}`, { ratio });
  (fixing ? signer.input : lineFields[0]?.delivered.input || signer.input).focus();
  return () => pad.off();
}
