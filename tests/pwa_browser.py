"""Helpers for the floor app's browser tests: Debian Chromium through Playwright against the real server, a device
enrolled through the app's own screen, waits on the sync status, and reads of the app's IndexedDB and of the
server's stock through the office API."""

from __future__ import annotations

import random
import time
from decimal import Decimal

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browsers import chromium
from tests.sync_fixtures import enrolment_code

TIMEOUT_MS = 15_000


def new_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(locale="zh-CN", viewport={"width": 800, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    return context


def watch_errors(page: Page) -> list[str]:
    """Console errors and uncaught page errors, to assert none happened (failed fetches while offline are expected
    and are not console errors of ours)."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text
            and "ERR_INTERNET_DISCONNECTED" not in m.text and "WebSocket" not in m.text else None)
    return problems


def open_app(page: Page, base_url: str, hash_: str = "") -> None:
    """Load the app and make sure the service worker controls the page (so it reloads offline). The worker's install
    fails whole when a precached file does not load (as while `npm run build` rewrites pwa/dist): then load again."""
    for attempt in range(3):
        page.goto(f"{base_url}/app/{hash_}")
        try:
            page.wait_for_function("navigator.serviceWorker.ready.then(() => true)", timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    if not page.evaluate("navigator.serviceWorker.controller !== null"):
        page.reload()
        page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_selector("body[data-ready='1']")


def enrol(page: Page, base_url: str, office: httpx.Client, site: str = "NB1", warehouses: list[str] | None = None,
          by_link: bool = True) -> None:
    """Enrol the device through the app: the QR link (/app/#enrol=CODE) or typing the code; then wait for the
    first sync to finish."""
    code = enrolment_code(office, site, warehouses)
    if by_link:
        open_app(page, base_url)
        page.goto(f"{base_url}/app/#enrol={code}")
    else:
        open_app(page, base_url, "#/enrol")
        page.locator("input[name=code]").fill(code)
        page.locator("#enrol-form button[type=submit]").click()
    page.wait_for_selector("body[data-screen='home']")
    wait_synced(page)


def wait_synced(page: Page, timeout_ms: int = TIMEOUT_MS) -> None:
    """Until the device is idle: nothing waiting to be sent, nothing applied but not yet pulled back, synced."""
    page.wait_for_function(
        """() => {
            const s = document.querySelector('#sync-status').dataset;
            return s.state === 'idle' && s.pending === '0' && s.unconfirmed === '0' && Boolean(s.lastSync);
        }""",
        timeout=timeout_ms, polling=100)


def pending(page: Page) -> int:
    return int(page.locator("#sync-status").get_attribute("data-pending") or 0)


def outbox(page: Page) -> list[dict]:
    return page.evaluate("import('/app/db.js').then(db => db.outbox())")


def meta(page: Page, key: str):
    return page.evaluate("key => import('/app/db.js').then(db => db.getMeta(key))", key)


def overlay(page: Page, item: str, location: str, lot: str | None = None) -> Decimal:
    """On hand as the app shows it: the replica with the queued mutations applied."""
    text = page.evaluate("""async ([item, location, lot]) => {
        const overlay = await import('/app/overlay.js');
        return overlay.microText(await overlay.onHandAt(item, location, lot));
    }""", [item, location, lot])
    return Decimal(text)


def go(page: Page, route: str) -> None:
    page.evaluate("route => { location.hash = route; }", f"#/{route}")
    page.wait_for_selector(f"body[data-screen='{route.split('?')[0]}']")


def move(page: Page, item: str, from_location: str, to_location: str, quantity: str, lot: str = "") -> None:
    """Fill the move screen field by field, each ended with Enter (as a keyboard-wedge scanner does)."""
    go(page, "move")
    for name, value in (("item", item), ("lot", lot), ("from_location", from_location), ("to_location", to_location),
                        ("quantity", quantity)):
        page.locator(f"#move-form input[name={name}]").fill(value)
        page.locator(f"#move-form input[name={name}]").press("Enter")
    page.wait_for_selector("#screen .notice.ok")


def count(page: Page, item: str, location: str, counted: str, lot: str = "", reason: str = "") -> None:
    go(page, "count")
    for name, value in (("item", item), ("lot", lot), ("location", location), ("counted_quantity", counted)):
        page.locator(f"#count-form input[name={name}]").fill(value)
        page.locator(f"#count-form input[name={name}]").press("Enter")
    page.locator("#count-form input[name=reason]").fill(reason)
    page.locator("#count-form input[name=reason]").press("Enter")
    page.wait_for_selector("#screen .notice.ok")


def until(check, timeout_s: float = 15) -> None:
    """Until the server shows what the device sent (the sync status may not yet count a mutation just queued)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the server never showed it"
        time.sleep(0.1)


def gtin13(rng: random.Random) -> str:
    """A GTIN-13 of China's 69 prefix with its check digit, new to the server."""
    body = "69" + "".join(rng.choice("0123456789") for _ in range(10))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


# --- scanning ---------------------------------------------------------------------------------------------------------

def wedge(page: Page, text: str, delay: int = 5, end: str = "Enter") -> None:
    """Type like a keyboard-wedge scanner (a few ms a key, then Enter or Tab): GS (\\x1d, the FNC1 separator) has no
    key, so it is inserted as text, as a scanner's driver does; the rest are keystrokes."""
    for i, part in enumerate(text.split("\x1d")):
        if i:
            page.keyboard.insert_text("\x1d")
        if part:
            page.keyboard.type(part, delay=delay)
    page.keyboard.press(end)


def typed(page: Page, text: str) -> None:
    """Typed by a person (slower than a scanner's burst, which scanner.js would take for a scan), then Enter."""
    page.keyboard.type(text, delay=80)
    page.keyboard.press("Enter")


def scan_into(page: Page, field, text: str, value: str) -> None:
    """Scan into `field` as an operator does, until it holds `value`: when the burst came split (a stall of over
    70 ms between two of its keys on a busy test machine makes scanner.js take its head for typing), scan again."""
    for attempt in range(3):
        field.focus()
        field.fill("")
        wedge(page, text)
        try:
            expect(field).to_have_value(value, timeout=2_000)
            return
        except AssertionError:
            if attempt == 2:
                raise


def poll(page: Page, expression: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until a JavaScript expression is truthy, polling from Python: Playwright's wait_for_function evaluates a
    string expression inside the page with eval, which the app's CSP refuses."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.02)


def label_y4m(png: bytes, path, frames: int = 10):
    """One of our labels (a PNG) as Chromium's fake camera input: a 640x480 YUV4MPEG2 file of a few identical grey
    frames, the label scaled to fit on white (U and V planes all 128)."""
    from io import BytesIO

    from PIL import Image

    label = Image.open(BytesIO(png)).convert("L")
    label.thumbnail((600, 440))
    frame = Image.new("L", (640, 480), 255)
    frame.paste(label, ((640 - label.width) // 2, (480 - label.height) // 2))
    chroma = bytes([128]) * (320 * 240)
    with open(path, "wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    return path


def chromium_with_camera(y4m_path):
    """Chromium whose camera plays the y4m file (give the context permissions=["camera"])."""
    return chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={y4m_path}")
