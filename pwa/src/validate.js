// Form checks from the floor commands' own contracts: their argument schemas, generated from schemas/ into
// generated/commands.schema.json (`python -m schemas.export`), and one validator of the JSON Schema subset that file
// uses: type, required, properties, items, minimum / exclusiveMinimum (on numbers and on decimal strings), maxLength,
// pattern, enum. A problem comes back in the operator's language. Rules the subset cannot say (a lot for a
// lot-tracked item, a reason to start downtime) stay with the screens; the server checks everything again.
import { t } from "/app/i18n.js";

let loaded = null;

/** The JSON Schema of a command's args (precached with the app shell, so it is there offline). */
export function argsSchema(command) {
  loaded ??= fetch("/app/generated/commands.schema.json").then((response) => response.json());
  return loaded.then((file) => file.commands[command]);
}

const KINDS = {
  null: (v) => v === null,
  string: (v) => typeof v === "string",
  number: (v) => typeof v === "number" && Number.isFinite(v),
  integer: (v) => Number.isInteger(v),
  boolean: (v) => typeof v === "boolean",
  array: (v) => Array.isArray(v),
  object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
};

/** Every problem of `value` against `schema`, as [path, {keyword, limit, format}]; an absent property is only
 * a problem when required. */
export function problems(schema, value, path = "") {
  const found = [];
  const fail = (keyword, limit) => found.push([path, { keyword, limit, format: schema.format }]);
  const types = [].concat(schema.type ?? []);
  if (types.length && !types.some((type) => KINDS[type]?.(value))) {
    fail("type");
    return found;
  }
  if (schema.enum && !schema.enum.includes(value)) fail("enum", schema.enum.join(", "));
  if (typeof value === "string") {
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) fail("maxLength", schema.maxLength);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      fail("pattern");
      return found;  // bounds of a decimal string are only read from one that is well formed
    }
  }
  const number = typeof value === "number" ? value : schema.format === "decimal" && typeof value === "string" ? Number(value) : null;
  if (number !== null) {
    if (schema.minimum !== undefined && number < schema.minimum) fail("minimum", schema.minimum);
    if (schema.exclusiveMinimum !== undefined && number <= schema.exclusiveMinimum) fail("exclusiveMinimum", schema.exclusiveMinimum);
  }
  if (KINDS.object(value)) {
    for (const name of schema.required || []) if (value[name] === undefined) found.push([join(path, name), { keyword: "required" }]);
    for (const [name, property] of Object.entries(schema.properties || {})) {
      if (value[name] !== undefined) found.push(...problems(property, value[name], join(path, name)));
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((entry, index) => found.push(...problems(schema.items, entry, join(path, index))));
  return found;
}

const join = (path, name) => (path ? `${path}.${name}` : String(name));

/** A problem as the operator reads it. */
export function problemText({ keyword, limit, format }) {
  if (keyword === "required") return t("valid.required");
  if (format === "decimal" && keyword === "exclusiveMinimum" && limit === 0) return t("valid.quantity_positive");
  if (format === "decimal" && (keyword === "type" || keyword === "pattern")) return t("valid.quantity");
  if (format === "date" && keyword === "pattern") return t("valid.date");
  if (keyword === "minimum") return t("valid.at_least", { limit });
  if (keyword === "exclusiveMinimum") return t("valid.above", { limit });
  if (keyword === "maxLength") return t("valid.max_length", { limit });
  if (keyword === "enum") return t("valid.enum", { values: limit });
  return t("valid.pattern");
}

const isArray = (schema) => [].concat(schema.type ?? []).includes("array");

/** The problem of one argument as a form holds it (an empty field is an absent argument), or "". `path` names it
 * from the top of the args ("quantity"), through lists too ("contents.quantity": the quantity of an entry). */
export async function argumentProblem(command, path, value) {
  let parent = await argsSchema(command);
  const names = path.split(".");
  for (const name of names.slice(0, -1)) {
    parent = parent.properties?.[name] || {};
    if (isArray(parent)) parent = parent.items || {};
  }
  const name = names[names.length - 1];
  if (value === undefined || value === null || value === "") {
    return parent.required?.includes(name) ? t("valid.required") : "";
  }
  const [first] = problems(parent.properties?.[name] || {}, value);
  return first ? problemText(first[1]) : "";
}
