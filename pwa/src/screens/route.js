// The driver's route: the shipments on this device's route from the replica (with what this device has queued on
// top), each with its customer, sales order, lines and status; a loaded one opens the delivery sign-off.
import { t } from "/app/i18n.js";
import { h } from "/app/screens/ui.js";
import { shipmentViews } from "/app/screens/shipping.js";

const ORDER = { loaded: 0, packed: 1, picking: 2, planned: 3, delivered: 4 };

export async function render(root, ctx) {
  const { scope, sync, navigate } = ctx;
  const list = h("ul", { class: "shipments", id: "shipments" });
  root.append(
    h("h1", {}, t("route.title", { route: scope.route || "" })),
    list,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );

  async function fill() {
    const shipments = (await shipmentViews())
      .filter((s) => s.route === scope.route)
      .sort((a, b) => (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9) || a.code.localeCompare(b.code));
    if (!shipments.length) {
      list.replaceChildren(h("li", { class: "empty" }, t("route.empty")));
      return;
    }
    list.replaceChildren(...shipments.map((s) => {
      const deliverable = s.status === "loaded";
      return h("li", { class: `shipment ${s.status}`, dataset: { code: s.code, status: s.status } },
        h("button", { type: "button", class: deliverable ? "open" : "open secondary", disabled: !deliverable,
          onclick: () => navigate("deliver", { shipment: s.code }) },
        h("strong", {}, s.code), " · ", t("route.customer", { customer: s.customer }), " · ", t(`ship.status.${s.status}`)),
        h("p", { class: "order" }, t("route.order", { order: s.sales_order, vehicle: s.vehicle || "—" })),
        h("ul", { class: "ship-lines" }, ...s.lines.map((line) => h("li", {},
          t("route.line_text", { line: line.line_no, item: line.item, quantity: line.packed_quantity })))));
    }));
  }

  await fill();
  sync.events.addEventListener("change", fill);
  return () => sync.events.removeEventListener("change", fill);
}
