"""Debian Chromium through Playwright, as every browser test starts it (never a browser Playwright downloads)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# Assertions on a page wait as long as its actions (15 s) rather than Playwright's 5 s: with the suite's workers and
# other runs on two cores, a screen may take longer than that to show what it will show.
expect.set_options(timeout=15_000)
# The guides' pictures (docs/guide/img/), taken by the browser tests that walk each guide.
GUIDE_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "guide" / "img"


@contextmanager
def chromium(*extra_args: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


def console_problems(page: Page) -> list[str]:
    """What a page reports as it goes: console errors and warnings, CSP refusals, uncaught page errors."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return problems


def log_in(page: Page, base_url: str, username: str) -> None:
    """Through the office login form, as the demo user."""
    page.goto(f"{base_url}/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("floorsync-demo")
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


def save_if_changed(path: Path, data: bytes) -> None:
    """Written when the picture changed: its bytes differ and so does some pixel by more than a shade. Chromium's
    rasteriser now and then draws a rounded border's anti-aliasing one level lighter; that is not a change."""
    if path.exists():
        old = path.read_bytes()
        if old == data:
            return
        before, after = (Image.open(io.BytesIO(png)).convert("RGB") for png in (old, data))
        if before.size == after.size and max(high for _, high in ImageChops.difference(before, after).getextrema()) <= 2:
            return
    path.write_bytes(data)


def office_guide_picture(page: Any, name: str, viewport: dict[str, int], mask: list[Any]) -> None:
    """An office page as its reader sees it, for a guide (docs/guide/img/<name>.png): the pointer out of the way, no
    focus ring, the masked parts (times, dates) greyed, written only when it changed. Taken on SQLite only:
    PostgreSQL's numeric columns keep their scale, so some figures read 15.0000 there."""
    from tests.servers import BACKEND

    if BACKEND != "sqlite":
        return
    page.mouse.move(viewport["width"] - 1, viewport["height"] - 1)
    page.evaluate("document.activeElement && document.activeElement.blur && document.activeElement.blur()")
    data = page.screenshot(full_page=True, mask=mask, animations="disabled", caret="hide", mask_color="#5b7a96")
    GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
    save_if_changed(GUIDE_IMAGES / f"{name}.png", data)
