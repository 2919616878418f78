// Load a shipment: the shipment (scanned off its label, or taken from the first SSCC scanned), the vehicle, the route
// (the shipment's planned one unless the loader says otherwise), then each handling unit's SSCC: a scanned SSCC is
// checked against the replica (and the units this device packed and queued) and queued as shipment.load at once, so
// the loader scans unit after unit; the list shows what is loaded and what is still to load. Opened from
// needs-attention with ?fix=<id>, it is pre-filled and sends the correction as a new mutation.
import { t } from "/app/i18n.js";
import { h, field, notice, wedgeForm, code } from "/app/screens/ui.js";
import { attachScanning } from "/app/screens/scan.js";
import { shipmentView, shipmentOfUnit, ssccIsValid } from "/app/screens/shipping.js";
import { checkField, opening, send } from "/app/screens/command.js";

const LOADABLE = ["picking", "packed"];

export async function render(root, ctx) {
  const { params, sync } = ctx;
  const { fixing, given } = await opening(params);
  const shipmentField = field("shipment", "ship.shipment", { value: given.shipment || "", required: true });
  const vehicle = field("vehicle", "load.vehicle", { value: given.vehicle || "", required: true });
  const route = field("route", "load.route", { value: given.route || "" });
  const sscc = field("sscc", "load.sscc", { value: given.sscc || "", required: true, inputmode: "numeric" });
  const summary = h("p", { class: "on-hand", id: "load-summary", "aria-live": "polite" });
  const units = h("ul", { class: "units", id: "units" });
  const message = h("div", { class: "message" });
  const button = h("button", { type: "submit" }, t("load.submit"));
  let shipment = null;

  async function loadShipment() {
    const value = code(shipmentField.input.value);
    shipment = value ? await shipmentView(value) : null;
    shipmentField.problem(value && !shipment ? t("valid.unknown_shipment", { shipment: value }) : "");
    // A shipment whose last unit was just loaded is done, not a problem: the summary says nothing is left.
    if (shipment && !LOADABLE.includes(shipment.status) && shipment.status !== "loaded") {
      shipmentField.problem(t("valid.shipment_status", { shipment: shipment.code, status: t(`ship.status.${shipment.status}`) }));
    }
    if (shipment && !code(route.input.value) && shipment.route) route.input.value = shipment.route;
    const list = shipment?.handling_units || [];
    const toLoad = list.filter((u) => u.status === "packed");
    summary.textContent = shipment ? t("load.summary", { left: toLoad.length, total: list.length }) : "";
    summary.dataset.left = shipment ? String(toLoad.length) : "";
    units.replaceChildren(...list.map((u) => h("li", { dataset: { sscc: u.sscc || "", status: u.status }, class: u.status },
      t(u.status === "packed" ? "load.unit_to_load" : "load.unit_loaded", { sscc: u.sscc || t("pack.new_sscc"), vehicle: u.vehicle || "" }))));
  }

  shipmentField.input.addEventListener("change", loadShipment);
  // A scanned SSCC (attachScanning sets the field and fires an untrusted change) names the shipment when none is
  // given yet, and loads the unit at once; a typed one waits for Enter.
  sscc.input.addEventListener("change", async (event) => {
    const value = code(sscc.input.value);
    if (!code(shipmentField.input.value) && ssccIsValid(value)) {
      const owner = await shipmentOfUnit(value);
      if (owner) {
        shipmentField.input.value = owner.code;
        await loadShipment();
      }
    }
    if (!event.isTrusted && code(shipmentField.input.value) && code(vehicle.input.value)) form.requestSubmit();
  });

  async function submit(event) {
    event.preventDefault();
    await checkField("shipment.load", shipmentField);
    await loadShipment();
    let ok = Boolean(shipment) && LOADABLE.includes(shipment.status);
    const vehicleCode = await checkField("shipment.load", vehicle);
    const routeCode = code(route.input.value) || shipment?.route || "";
    route.problem(shipment && !routeCode ? t("valid.route_required") : "");
    const label = code(sscc.input.value);
    const unit = shipment?.handling_units.find((u) => u.sscc === label);
    if (!label) sscc.problem(t("valid.required"));
    else if (!ssccIsValid(label)) sscc.problem(t("valid.sscc"));
    else if (shipment && !unit) {
      const owner = await shipmentOfUnit(label);
      sscc.problem(owner ? t("valid.sscc_other_shipment", { shipment: owner.code }) : t("valid.unknown_unit", { sscc: label }));
    } else if (unit && unit.status !== "packed") sscc.problem(t("valid.sscc_loaded"));
    else sscc.problem("");
    if (!ok || !vehicleCode || !routeCode || !unit || unit.status !== "packed") {
      if (!ok || !unit) sscc.input.select();
      return;
    }
    const args = { shipment: shipment.code, sscc: label, vehicle: vehicleCode, route: routeCode };
    if (!(await send(ctx, fixing, "shipment.load", args))) return;
    await loadShipment();
    message.replaceChildren(notice("ok", t("load.done", { sscc: label, vehicle: vehicleCode, left: summary.dataset.left })));
    sscc.input.value = "";
    sscc.input.focus();
  }

  const form = wedgeForm(h("form", { id: "load-form", onsubmit: submit, novalidate: true },
    shipmentField.wrapper, vehicle.wrapper, route.wrapper, sscc.wrapper, button));
  root.append(
    h("h1", {}, t("load.title")),
    form,
    summary,
    units,
    message,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );
  await loadShipment();
  (fixing ? sscc.input : !shipmentField.input.value ? shipmentField.input : !vehicle.input.value ? vehicle.input : sscc.input).focus();
  const stopScanning = attachScanning(form, { quantityField: "quantity" });
  sync.events.addEventListener("change", loadShipment);
  return () => {
    stopScanning();
    sync.events.removeEventListener("change", loadShipment);
  };
}
