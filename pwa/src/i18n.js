// Every visible string in Simplified Chinese (the default) and English: two flat JSON catalogs, the language
// remembered in IndexedDB. t("key", {name: value}) fills {name} placeholders; a missing key shows the key itself.
import { getMeta, setMeta } from "/app/db.js";

export const LANGUAGES = ["zh", "en"];
let language = "zh";
let catalog = {};
let fallback = {};

async function load(lang) {
  const response = await fetch(`/app/locales/${lang}.json`);
  return response.json();
}

export async function init() {
  const stored = await getMeta("language");
  language = LANGUAGES.includes(stored) ? stored : "zh";
  [catalog, fallback] = await Promise.all([load(language), language === "en" ? Promise.resolve(null) : load("en")]);
  fallback = fallback || catalog;
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
}

export async function setLanguage(lang) {
  await setMeta("language", lang);
  await init();
}

export function currentLanguage() { return language; }

export function has(key) { return key in catalog || key in fallback; }

export function t(key, params = {}) {
  const text = catalog[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (params[name] === undefined || params[name] === null ? whole : String(params[name])));
}

/** A server refusal in the operator's language: our own text for a known code (with its details), else the
 * server's message. One code may name different things (`out_of_scope` a location, a shipment, a work centre…):
 * `error.<code>.<detail>` is the text for the detail the refusal carries, `error.<code>` the general one. */
export function errorText(error) {
  if (!error) return "";
  const details = { ...(error.details || {}), message: error.message || "" };
  const specific = Object.keys(error.details || {}).map((name) => `error.${error.code}.${name}`).find(has);
  const key = specific || `error.${error.code}`;
  if (has(key)) return t(key, details);
  return error.message || error.code || "";
}
