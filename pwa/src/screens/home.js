// Home: the screens this device's scope offers, needs-attention, the dispatch lists of its work centres (what to run
// next, from the local replica: offline too, redrawn when a pull brings a change), and the language switch.
import { t, currentLanguage, setLanguage } from "/app/i18n.js";
import { h } from "/app/screens/ui.js";
import { dispatchLists } from "/app/screens/dispatch.js";

const NEXT_OPERATIONS = 8;

export async function render(root, ctx) {
  const { scope, screens, sync } = ctx;
  const lines = [t("home.scope", { site: scope.site || "" })];
  if (scope.warehouses?.length) lines.push(t("home.scope_warehouses", { warehouses: scope.warehouses.join(", ") }));
  if (scope.route) lines.push(t("home.scope_route", { route: scope.route }));
  const tiles = Object.entries(screens)
    .filter(([, screen]) => screen.fits?.(scope))
    .map(([route, screen]) => h("a", { class: "tile", href: `#/${route}`, dataset: { route } }, t(screen.label)));
  const attentionTile = h("a", { class: "tile attention", href: "#/attention", dataset: { route: "attention" } });
  const showAttention = () => {
    const { attention } = sync.status();
    attentionTile.textContent = attention ? `${t("attention.title")} (${attention})` : t("attention.title");
    attentionTile.classList.toggle("has", attention > 0);
  };
  showAttention();
  const language = h("button", {
    type: "button", class: "secondary", id: "language",
    onclick: async () => { await setLanguage(currentLanguage() === "zh" ? "en" : "zh"); ctx.rerender(); },
  }, t("home.language"));
  const dispatch = dispatchLists(scope.work_centres || [], NEXT_OPERATIONS, sync.serverNow);
  root.append(
    h("h1", {}, t("home.title")),
    h("p", { class: "scope" }, lines.join(" · ")),
    h("nav", { class: "tiles" }, ...tiles, attentionTile),
    dispatch.element,
    h("p", {}, language),
  );
  await dispatch.draw();
  sync.events.addEventListener("status", showAttention);
  sync.events.addEventListener("change", dispatch.draw);
  return () => {
    sync.events.removeEventListener("status", showAttention);
    sync.events.removeEventListener("change", dispatch.draw);
  };
}
