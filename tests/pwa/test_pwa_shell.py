"""The floor app's shell, served from our own server at /app/: installable (manifest, icons), precached by its
service worker (no CDN anywhere), and still there after a reload with the network gone."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.browsers import CHROMIUM_ARGS


def test_the_shell_manifest_and_service_worker_are_served_from_our_server(server):
    page = httpx.get(f"{server.url}/app/")
    assert page.status_code == 200 and 'rel="manifest"' in page.text
    assert "'wasm-unsafe-eval'" in page.headers["content-security-policy"]
    assert "floorsync_session" not in page.headers.get("set-cookie", ""), "the app shell needs no session"
    manifest = httpx.get(f"{server.url}/app/manifest.webmanifest").json()
    assert manifest["start_url"] == "/app/" and {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
    for icon in manifest["icons"]:
        assert httpx.get(server.url + icon["src"]).headers["content-type"] == "image/png"
    worker = httpx.get(f"{server.url}/app/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]
    assert "importScripts" not in worker.text and "cdn" not in worker.text.lower(), "Workbox's runtime is inlined"
    assert worker.headers["cache-control"] == "no-cache"
    assert httpx.get(f"{server.url}/app/vendor/zxing_reader.wasm").headers["content-type"] == "application/wasm"


@pytest.mark.browser
def test_the_shell_reloads_offline_from_the_service_worker(server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(f"{server.url}/app/")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_function("navigator.serviceWorker.controller !== null || caches.keys().then(k => k.length > 0)")
        page.reload()  # now controlled by the service worker
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        context.set_offline(True)
        page.reload()
        assert page.locator("#screen").is_visible() and page.title() == "Floorsync"
        context.set_offline(False)
        assert errors == []
        browser.close()
