// Builds the front-end assets served by our own server (no CDN):
// - the office UI's htmx, copied from node_modules into server/web/static/vendor/, and the planner's Gantt library:
//   vis-timeline's "peer" build (its stylesheet as a file: the standalone build injects a <style> element, which the
//   CSP refuses) with the two libraries it leaves to the page, vis-data and moment (and moment's Chinese locale)
// - the shop-floor PWA, from pwa/src into pwa/dist: our ES modules as they are (no bundler: the browser loads
//   modules), the libraries it uses copied into dist/vendor/, and a Workbox service worker (generateSW with its
//   runtime inlined, so nothing is fetched from a CDN) that precaches the app shell. The camera decoder
//   (barcode-detector's zxing-wasm build, about 1 MB) is not precached: it is loaded lazily the first time a device
//   without a native BarcodeDetector opens the camera, and cached then.
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSW } from "workbox-build";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const officeVendor = join(root, "server/web/static/vendor");
mkdirSync(officeVendor, { recursive: true });
cpSync(join(modules, "htmx.org/dist/htmx.min.js"), join(officeVendor, "htmx.min.js"));
for (const [from, to] of [
  ["moment/min/moment.min.js", "moment.min.js"],
  ["moment/locale/zh-cn.js", "moment-zh-cn.js"],
  ["vis-data/peer/umd/vis-data.min.js", "vis-data.min.js"],
  ["vis-timeline/peer/umd/vis-timeline-graph2d.min.js", "vis-timeline-graph2d.min.js"],
  ["vis-timeline/styles/vis-timeline-graph2d.min.css", "vis-timeline-graph2d.min.css"],
]) {
  cpSync(join(modules, from), join(officeVendor, to));
}

// Built beside the served copy and swapped in at the end, so a running server never serves half a build.
const served = join(root, "pwa/dist");
const dist = join(root, "pwa/dist.next");
rmSync(dist, { recursive: true, force: true });
cpSync(join(root, "pwa/src"), dist, { recursive: true });

const vendor = join(dist, "vendor");
mkdirSync(join(vendor, "barcode-detector"), { recursive: true });
cpSync(join(modules, "idb/build/index.js"), join(vendor, "idb.js"));
cpSync(join(modules, "signature_pad/dist/signature_pad.js"), join(vendor, "signature_pad.js"));
for (const file of ["ponyfill.js", "zxing-exported.js"]) {
  cpSync(join(modules, "barcode-detector/dist/es", file), join(vendor, "barcode-detector", file));
}
cpSync(join(modules, "zxing-wasm/dist/reader/zxing_reader.wasm"), join(vendor, "zxing_reader.wasm"));

// The vector file the server's GS1 tests use: the app's parser is tested against the same one.
cpSync(join(root, "schemas/scan_vectors.json"), join(dist, "scan_vectors.json"));

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
writeFileSync(join(dist, "versions.json"), JSON.stringify({
  idb: pkg.dependencies.idb, signature_pad: pkg.dependencies.signature_pad,
  "barcode-detector": pkg.dependencies["barcode-detector"], "workbox-build": pkg.devDependencies["workbox-build"],
}, null, 1));

const { count, size, warnings } = await generateSW({
  globDirectory: dist,
  globPatterns: ["**/*.{html,js,mjs,css,json,webmanifest,png,svg,wav}"],
  globIgnores: ["vendor/barcode-detector/**", "vendor/zxing_reader.wasm", "scan_vectors.json", "sw.js"],
  swDest: join(dist, "sw.js"),
  inlineWorkboxRuntime: true,
  sourcemap: false,
  // A new version waits until the app says so (the user is told to reload): it never takes over mid-shift.
  skipWaiting: false,
  clientsClaim: false,
  navigateFallback: "/app/index.html",
  navigateFallbackAllowlist: [/^\/app\//],
  modifyURLPrefix: { "": "/app/" },
  runtimeCaching: [{
    urlPattern: ({ url }) => url.pathname.startsWith("/app/vendor/barcode-detector/") || url.pathname.endsWith(".wasm"),
    handler: "CacheFirst",
    options: { cacheName: "floorsync-camera-decoder" },
  }],
});
for (const warning of warnings) console.warn(warning);
const old = join(root, "pwa/dist.old");
rmSync(old, { recursive: true, force: true });
if (existsSync(served)) renameSync(served, old);
renameSync(dist, served);
rmSync(old, { recursive: true, force: true });
console.log(`assets built: server/web/static/vendor/ (htmx, vis-timeline), pwa/dist/ (${count} files precached, ${(size / 1024).toFixed(0)} KB)`);
