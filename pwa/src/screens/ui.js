// Tiny DOM helpers shared by the screens: h() builds elements (no innerHTML, no inline styles: the CSP forbids
// them), field() a labelled input with room for its problem, and forms that a keyboard-wedge scanner can fill
// (Enter in a field goes to the next one; Enter in the last one submits).
import { t } from "/app/i18n.js";

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** A labelled input; `problem(text)` shows or clears its validation message. */
export function field(name, labelKey, attrs = {}) {
  const input = h("input", { name, id: `f-${name}`, autocomplete: "off", autocapitalize: "off", spellcheck: "false", ...attrs });
  const problem = h("span", { class: "problem", id: `p-${name}`, "aria-live": "polite" });
  input.setAttribute("aria-describedby", problem.id);
  const wrapper = h("label", { for: input.id }, h("span", { class: "label" }, t(labelKey)), input, problem);
  return { wrapper, input, problem: (text) => { problem.textContent = text || ""; input.toggleAttribute("aria-invalid", Boolean(text)); } };
}

/** Enter moves to the next field (a scanner ends each scan with Enter); in the last field it submits. */
export function wedgeForm(form) {
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.target instanceof HTMLInputElement)) return;
    const inputs = [...form.querySelectorAll("input:not([type=hidden]):not([disabled])")];
    const index = inputs.indexOf(event.target);
    if (index >= 0 && index < inputs.length - 1) {
      event.preventDefault();
      inputs[index + 1].focus();
      inputs[index + 1].select?.();
    }
  });
  return form;
}

export function notice(kind, text) {
  return h("p", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status" }, text);
}

export function code(value) {
  return String(value || "").trim();
}
