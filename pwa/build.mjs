// Builds the front-end assets served by our own server (no CDN):
// - the office UI's htmx, copied from node_modules into server/web/static/vendor/
// - the shop-floor PWA, from pwa/src into pwa/dist (the offline app itself is built in the PWA issue).
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "server/web/static/vendor");
mkdirSync(vendor, { recursive: true });
cpSync(join(root, "node_modules/htmx.org/dist/htmx.min.js"), join(vendor, "htmx.min.js"));

const dist = join(root, "pwa/dist");
rmSync(dist, { recursive: true, force: true });
cpSync(join(root, "pwa/src"), dist, { recursive: true });
console.log("assets built: server/web/static/vendor/htmx.min.js, pwa/dist/");
