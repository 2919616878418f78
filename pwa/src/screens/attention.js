// Needs attention: mutations the server refused, each with its reason in the operator's language. "Correct and
// resend" opens the screen that made it, pre-filled; what it sends is a new mutation. "Dismiss" drops it.
import { t, errorText } from "/app/i18n.js";
import { attention } from "/app/db.js";
import { h } from "/app/screens/ui.js";

// Nested args (a unit's contents, a delivery's shortfalls) read as their values; images (base64) are left out.
function text(value) {
  if (Array.isArray(value)) return value.map(text).join(", ");
  if (value && typeof value === "object") return Object.values(value).filter((v) => v !== null && v !== "").map(text).join(" ");
  return String(value);
}

function summary(entry) {
  return Object.entries(entry.args || {})
    .filter(([, value]) => value !== null && value !== undefined && value !== "" && !(typeof value === "string" && value.length > 200))
    .map(([name, value]) => `${name}: ${text(value)}`)
    .join(" · ");
}

export async function render(root, ctx) {
  const { sync, navigate, screenFor } = ctx;
  const list = h("ul", { class: "attention-list", id: "attention-list" });
  root.append(h("h1", {}, t("attention.title")), list, h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))));

  async function fill() {
    const entries = await attention();
    if (!entries.length) {
      list.replaceChildren(h("li", { class: "empty" }, t("attention.empty")));
      return;
    }
    list.replaceChildren(...entries.map((entry) => {
      const screen = screenFor(entry.name);
      return h("li", { class: "entry", dataset: { id: entry.id, code: entry.error?.code || "" } },
        h("strong", {}, t(`command.${entry.name}`)),
        h("p", { class: "reason" }, errorText(entry.error)),
        h("p", { class: "args" }, summary(entry)),
        h("p", { class: "when" }, t("attention.when", { time: new Date(entry.at).toLocaleString() })),
        h("div", { class: "actions" },
          screen ? h("button", { type: "button", class: "correct", onclick: () => navigate(screen, { fix: entry.id }) }, t("attention.correct")) : null,
          h("button", { type: "button", class: "dismiss secondary", onclick: async () => { await sync.dismiss(entry.id); } }, t("attention.dismiss"))));
    }));
  }

  await fill();
  sync.events.addEventListener("change", fill);
  return () => sync.events.removeEventListener("change", fill);
}
