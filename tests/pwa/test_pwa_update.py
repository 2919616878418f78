"""A new version of the floor app in real Chromium: the service worker installs it in the background and waits; the
app offers a reload, and what was queued offline survives the switch and lands once. A server that no longer speaks
the app's protocol (426) makes the app insist on the reload instead of retrying forever.

Each test serves a build of its own (FLOORSYNC_PWA_DIR, a copy of pwa/dist) and "deploys" a new version into it
the way a real build differs: a changed file and, in sw.js, that file's new precache revision."""

from __future__ import annotations

import hashlib
import re
import shutil
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from server.settings import REPO_ROOT
from tests.clients import office
from tests.factory import available_by_location, make_item
from tests.pwa_browser import enrol, move, new_context, open_app, outbox, pending, wait_synced, watch_errors
from tests.sync_fixtures import enrolment_code

pytestmark = pytest.mark.browser

BUILD_MARKER = 'meta[name="floorsync-build"]'


def copy_of_the_build(tmp_path: Path) -> Path:
    build = tmp_path / "app"
    shutil.copytree(REPO_ROOT / "pwa" / "dist", build)
    return build


def deploy(build: Path, path: str, change) -> None:
    """Change one precached file of `build` and give it its new revision in the service worker's precache list."""
    file = build / path
    file.write_text(change(file.read_text()))
    revision = hashlib.md5(file.read_bytes()).hexdigest()
    worker = build / "sw.js"
    text, found = re.subn(r'(\{url:"/app/' + re.escape(path) + r'",revision:")[0-9a-f]+"', rf'\g<1>{revision}"',
                          worker.read_text())
    assert found == 1, f"{path} is not in the precache list"
    worker.write_text(text)


def marked(build_name: str):
    return lambda html: html.replace("<title>", f'<meta name="floorsync-build" content="{build_name}">\n<title>', 1)


def test_a_new_version_is_offered_and_what_was_queued_offline_survives_the_reload(fresh_server, tmp_path, browser):
    build = copy_of_the_build(tmp_path)
    server = fresh_server(FLOORSYNC_PWA_DIR=str(build))
    with closing(office(server.url, "warehouse")) as clerk, closing(office(server.url, "planner")) as planner:
        item = make_item(planner, "UPD-1", stock={"RM-A-01-01": "10"}, clerk=clerk)
        context = new_context(browser)
        page = context.new_page()
        errors = watch_errors(page)
        enrol(page, server.url, clerk)
        expect(page.locator("#update")).to_be_hidden()

        deploy(build, "index.html", marked("2"))
        page.evaluate("import('/app/update.js').then(u => u.check())")
        expect(page.locator("#update")).to_have_attribute("data-state", "ready")
        assert page.locator(BUILD_MARKER).count() == 0, "the new version took over without the operator's reload"

        context.set_offline(True)
        move(page, item, "RM-A-01-01", "RM-A-01-02", "3")
        assert pending(page) == 1
        queued = outbox(page)

        page.locator("#update-reload").click()  # offline: the new version comes from the new worker's precache
        page.wait_for_selector(f"{BUILD_MARKER}[content='2']", state="attached")
        page.wait_for_selector("body[data-ready='1']")
        expect(page.locator("#update")).to_be_hidden()
        assert outbox(page) == queued, "the new version lost or changed what was queued"

        context.set_offline(False)
        wait_synced(page)
        assert available_by_location(clerk, item) == {"RM-A-01-01": Decimal(7), "RM-A-01-02": Decimal(3)}
        assert errors == []
        context.close()


def test_a_protocol_the_server_no_longer_speaks_makes_the_app_insist_on_the_new_version(fresh_server, tmp_path, browser):
    build = copy_of_the_build(tmp_path)
    deploy(build, "sync.js", lambda js: js.replace("export const PROTOCOL = 1;", "export const PROTOCOL = 0;"))
    server = fresh_server(FLOORSYNC_PWA_DIR=str(build))
    with closing(office(server.url, "warehouse")) as clerk, closing(office(server.url, "planner")) as planner:
        item = make_item(planner, "UPD-2", stock={"RM-A-01-01": "10"}, clerk=clerk)
        context = new_context(browser)
        page = context.new_page()
        open_app(page, server.url)  # the app as the device first loaded it, under its service worker
        page.goto(f"{server.url}/app/#enrol={enrolment_code(clerk, 'NB1', None)}")
        page.wait_for_selector("body[data-screen='home']")
        expect(page.locator("#update")).to_have_attribute("data-state", "required")
        expect(page.locator("#sync-status")).to_have_attribute("data-state", "error")

        deploy(build, "sync.js", lambda js: js.replace("export const PROTOCOL = 0;", "export const PROTOCOL = 1;"))
        page.locator("#update-reload").click()
        page.wait_for_selector("body[data-ready='1']")
        expect(page.locator("#update")).to_be_hidden()
        wait_synced(page)  # the new version syncs: the first pull brings the replica, and work goes through
        move(page, item, "RM-A-01-01", "RM-A-01-02", "2")
        wait_synced(page)
        assert available_by_location(clerk, item) == {"RM-A-01-01": Decimal(8), "RM-A-01-02": Decimal(2)}
        context.close()

