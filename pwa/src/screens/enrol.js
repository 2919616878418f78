// Enrolment: the code typed (or scanned by a wedge scanner into the field), or the QR link /app/#enrol=CODE, which
// pre-fills the code and enrols at once (unless this device is already enrolled: then the operator confirms).
import { t, errorText } from "/app/i18n.js";
import { getMeta } from "/app/db.js";
import { h, field, notice, wedgeForm } from "/app/screens/ui.js";

export async function render(root, ctx) {
  const { params, sync, navigate } = ctx;
  const enrolledAs = (await getMeta("token")) ? await getMeta("device_name") : null;
  const code = field("code", "enrol.code", { value: params.code || "", required: true, inputmode: "text" });
  const suffix = crypto.randomUUID().slice(0, 4).toUpperCase();
  const name = field("device_name", "enrol.name", { value: `${t("enrol.default_name")} ${suffix}`, required: true, maxlength: 100 });
  const message = h("div", { class: "message" });
  const button = h("button", { type: "submit" }, t("enrol.submit"));

  async function submit(event) {
    event?.preventDefault();
    code.problem(code.input.value.trim() ? "" : t("valid.required"));
    name.problem(name.input.value.trim() ? "" : t("valid.required"));
    if (!code.input.value.trim() || !name.input.value.trim()) return;
    button.disabled = true;
    message.replaceChildren(notice("info", t("enrol.busy")));
    try {
      await sync.enroll(code.input.value, name.input.value.trim());
      message.replaceChildren(notice("ok", t("enrol.done")));
      navigate("home");
    } catch (error) {
      message.replaceChildren(notice("bad", errorText({ code: error.code, message: error.message })));
      button.disabled = false;
    }
  }

  const form = wedgeForm(h("form", { id: "enrol-form", onsubmit: submit }, code.wrapper, name.wrapper, button));
  root.append(
    h("h1", {}, t("enrol.title")),
    h("p", {}, t("enrol.help")),
    enrolledAs ? notice("warn", t("enrol.already", { name: enrolledAs })) : null,
    form,
    message,
  );
  if (params.auto && params.code && !enrolledAs) submit();
  else (params.code ? name.input : code.input).focus();
}
