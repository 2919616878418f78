"""Scanning in the floor app, offline: the JavaScript GS1 parser (pwa/src/gs1.js) reads exactly as the server's
(server/scan/gs1.py) on the shared vector file and on generated strings; a keyboard-wedge burst is taken as a scan
and human typing is not; Chromium's fake camera showing one of our own labels is decoded through the
barcode-detector polyfill whose wasm comes from our server; and the scan-to-feedback time is measured."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.scan.gs1 import ScanError, read_scan
from tests.browsers import chromium
from tests.pwa_browser import chromium_with_camera, enrol, go, label_y4m, new_context, poll, wedge
from tests.servers import REPO

ROOT = REPO
VECTORS = ROOT / "schemas" / "scan_vectors.json"
GS1_JS = ROOT / "pwa" / "src" / "gs1.js"
TIMEOUT_MS = 15_000
GS = "\x1d"

# Runs every vector of a file through readScan and prints the mismatches as JSON; `text` (the payload, an extra of
# the JS reading) is not compared. Used by node and, the same function body, in the browser.
COMPARE_JS = """
const norm = (o) => JSON.stringify(o, (k, x) => x && typeof x === "object" && !Array.isArray(x)
  ? Object.fromEntries(Object.entries(x).sort()) : x);
function compare(readScan, vectors) {
  const mismatches = [];
  for (const v of vectors) {
    let got;
    try {
      const { text, ...reading } = readScan(v.input, v.gs_standin ?? null);
      got = { expect: reading };
    } catch (error) {
      got = { error: error.code ?? String(error) };
    }
    const want = "expect" in v ? { expect: v.expect } : { error: v.error };
    if (norm(got) !== norm(want)) mismatches.push({ name: v.name, input: v.input, got, want });
  }
  return mismatches;
}
"""


def _node_compare(vectors_file: Path) -> list[dict]:
    node = shutil.which("node")
    assert node, "node is needed (it builds the app too)"
    script = COMPARE_JS + f"""
const {{ readFileSync }} = await import("node:fs");
const {{ readScan }} = await import({json.dumps(GS1_JS.as_uri())});
const vectors = JSON.parse(readFileSync({json.dumps(str(vectors_file))}, "utf8")).vectors;
console.log(JSON.stringify(compare(readScan, vectors)));
"""
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_javascript_parser_reads_every_shared_vector_as_the_server_does_in_node():
    mismatches = _node_compare(VECTORS)
    assert mismatches == [], json.dumps(mismatches, indent=1, ensure_ascii=False)


def _generated(seed: int, count: int) -> list[tuple[str, str | None]]:
    """Scanner-like strings: element strings with and without GS, bracketed, bare digits, Digital Links, AIM
    prefixes, wedge noise, stand-ins, bad check digits and dates, and junk."""
    rng = random.Random(seed)
    prefixes = ["", "", "", "]C1", "]d2", "]Q3", "]e0", "]E0", "]E3", "]E4", "]I1", "]C0", "]Q1", "]d1", "]J1", "]e1",
                "]Y2ab", "]C", "]!", "]Z0"]
    ais = ["00", "01", "02", "10", "11", "15", "17", "21", "30", "37", "3102", "3105", "400", "414", "254", "7003",
           "7007", "7011", "8008", "4324", "3912", "99", "90", "23", "8004", "253", "710"]

    def digits(k: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(k))

    def with_check(k: int) -> str:
        body = digits(k - 1)
        total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
        return body + (str((10 - total % 10) % 10) if rng.random() < 0.8 else rng.choice("0123456789"))

    def date() -> str:
        return f"{rng.randint(0, 99):02d}{rng.choice([0, 1, 2, 6, 12, 13]):02d}{rng.choice([0, 1, 15, 28, 29, 30, 31, 32]):02d}"

    def value(ai: str) -> str:
        if ai in ("01", "02"):
            return with_check(14) if rng.random() < .9 else digits(rng.randint(12, 15))
        if ai == "00":
            return with_check(18)
        if ai == "414":
            return with_check(13)
        if ai in ("11", "15", "17", "7007"):
            return date() + (date() if ai == "7007" and rng.random() < .5 else "")
        if ai in ("7003", "4324", "7011"):
            return date() + (f"{rng.randint(0, 99):02d}{rng.randint(0, 99):02d}" if ai != "7011" or rng.random() < .5 else "")
        if ai == "8008":
            return date() + f"{rng.randint(0, 30):02d}" + rng.choice(["", "00", "5959", "61"])
        if ai.startswith("310"):
            return digits(rng.choice([6, 6, 5, 7]))
        if ai in ("30", "37"):
            return digits(rng.randint(1, 9))
        return "".join(rng.choice("ABCxyz0189-./%!_ ()\"'+#") for _ in range(rng.randint(0, 22)))

    out = []
    for _ in range(count):
        shape = rng.random()
        if shape < 0.35:
            text = "".join(ai + value(ai) + (rng.choice([GS, "", "~"]) if rng.random() < .6 else "")
                           for ai in (rng.choice(ais) for _ in range(rng.randint(1, 4))))
        elif shape < 0.55:
            text = "".join(f"({ai}){value(ai)}" + rng.choice(["", " ", GS, "\u3000"])
                           for ai in rng.sample(ais, rng.randint(1, 3)))
        elif shape < 0.7:
            text = rng.choice([with_check(rng.choice([8, 12, 13, 14])), digits(rng.randint(1, 20))])
        elif shape < 0.82:
            path = "".join(f"/{ai}/{value(ai)}" for ai in
                           rng.sample(["01", "10", "21", "22", "414", "254", "00", "17", "foo"], rng.randint(1, 3)))
            query = "&".join(f"{ai}={value(ai)}" for ai in rng.sample(["17", "10", "3103", "x", "15", "30"], rng.randint(0, 2)))
            text = (rng.choice(["https://id.gs1.org", "http://ex.com/a", "HTTPS://a.b"]) + path
                    + ("?" + query if query else "") + rng.choice(["", "#f"]))
        else:
            text = "".join(rng.choice("AZaz09-_ ./()\x1d\x07\t\r\n]~é😀") for _ in range(rng.randint(0, 30)))
        text = rng.choice(prefixes) + text
        if rng.random() < 0.3:
            text = rng.choice([" ", "\t", "\r\n", ""]) + text + rng.choice(["\r", "\n", "\t", "\r\n"])
        out.append((text, "~" if "~" in text and rng.random() < .7 else None))
    return out


def test_the_javascript_parser_agrees_with_the_server_on_generated_scans(tmp_path):
    vectors = []
    for text, standin in _generated(seed=6, count=3000):
        vector = {"name": repr(text), "input": text, "gs_standin": standin}
        try:
            vector["expect"] = read_scan(text, standin).to_json()
        except ScanError as error:
            vector["error"] = error.code
        vectors.append(vector)
    assert {v.get("error") or v["expect"]["kind"] for v in vectors} >= {
        "gs1", "code", "invalid_gs1", "bad_check_digit", "control_character", "invalid_symbology", "empty_scan"}
    generated = tmp_path / "generated.json"
    generated.write_text(json.dumps({"vectors": vectors}))
    mismatches = _node_compare(generated)
    assert mismatches == [], json.dumps(mismatches[:20], indent=1, ensure_ascii=False)


def test_the_javascript_ai_table_is_biips():
    from biip.gs1_application_identifiers import _GS1_APPLICATION_IDENTIFIERS

    script = f"import({json.dumps(GS1_JS.as_uri())}).then(m => console.log(JSON.stringify(m.AI_PATTERNS)))"
    done = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    biip = {ai: entry.pattern[1 + len(ai):-1] for ai, entry in _GS1_APPLICATION_IDENTIFIERS.items()}
    assert json.loads(done.stdout) == biip


# --- in Chromium ---------------------------------------------------------------------------------------------------

def _harness(page: Page, base_url: str, query: str = "") -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{base_url}/app/scan-test.html{query}")
    poll(page, "window.scanHarness !== undefined")
    return problems


@pytest.mark.browser
def test_the_javascript_parser_reads_every_shared_vector_in_chromium(server):
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        problems = _harness(page, server.url)
        mismatches = page.evaluate("async () => {" + COMPARE_JS + """
            const { readScan } = await import('/app/gs1.js');
            const { vectors } = await (await fetch('/app/scan_vectors.json')).json();
            return { count: vectors.length, mismatches: compare(readScan, vectors) };
        }""")
        assert mismatches["count"] == len(json.loads(VECTORS.read_text())["vectors"])
        assert mismatches["mismatches"] == [], json.dumps(mismatches["mismatches"], indent=1, ensure_ascii=False)
        assert problems == []


def _scanned(page, text: str, end: str = "Enter") -> dict:
    """Wedge `text` and return the scan it made. On a busy test machine a key can come late: a stall of over 70 ms
    between two of a burst's keys makes scanner.js take the burst's head for typing (the scan then lacks that head),
    and one of over 250 ms makes the whole burst typing (no scan at all, the characters left in a focused field).
    Either way the label is scanned again, as an operator would, and every scan must still be recognised as one."""
    scan = None
    for _ in range(4):
        before = page.evaluate("window.scanHarness.scans.length")
        wedge(page, text, end=end)
        try:
            poll(page, f"window.scanHarness.scans.length > {before}", timeout_ms=3_000)
        except AssertionError:
            page.evaluate("document.activeElement && 'value' in document.activeElement"
                          " && (document.activeElement.value = '')")
            continue
        scan = page.evaluate("window.scanHarness.scans")[-1]
        if scan["raw"][:3] == text[:3]:
            return scan
    raise AssertionError(f"no burst of {text!r} came whole: {scan}")


@pytest.mark.browser
def test_a_keyboard_wedge_burst_is_a_scan_and_human_typing_is_not(server):
    with chromium() as browser:
        context = browser.new_context(locale="en-GB")
        page = context.new_page()
        problems = _harness(page, server.url, "?gs=~")
        field = page.locator("#scan-field")

        # Into a focused field, FNC1 as GS: the field's value is the scan; the Enter goes no further.
        field.focus()
        scan = _scanned(page, f"]d2010950600013435217261231" f"10L-42{GS}21SN0001")
        assert page.locator("#r-gtin").text_content() == "09506000134352", scan
        assert page.locator("#r-lot").text_content() == "L-42"
        assert page.locator("#r-expiry").text_content() == "2026-12-31"
        assert page.locator("#r-serial").text_content() == "SN0001"
        assert page.locator("#feedback").get_attribute("class") == "ok"
        assert scan["source"] == "wedge" and scan["raw"].startswith("]d2") and GS in scan["raw"]

        # With no field focused, the stand-in configured for the scanner (~) is GS; Tab ends a scan too.
        page.evaluate("document.activeElement.blur()")
        _scanned(page, "010950600013435210B12~17270331", end="Tab")
        assert [page.locator(f"#r-{name}").text_content() for name in ("gtin", "lot", "expiry")] == [
            "09506000134352", "B12", "2027-03-31"]

        # A location label's text is an internal code; a bad check digit is refused, in red, in words.
        _scanned(page, "RM-A-01-01")
        assert page.locator("#r-kind").text_content() == "code" and page.locator("#r-code").text_content() == "RM-A-01-01"
        _scanned(page, "5901234123458")
        assert page.locator("#r-error").text_content() == "bad_check_digit"
        assert page.locator("#feedback").get_attribute("class") == "bad"
        assert page.locator("#feedback").text_content() == "校验位错误：请重新扫描或手动输入", "the operator's language"

        # A person typing (150 ms a key) into the field and pressing Enter: no scan, the text stays theirs.
        scans_so_far = page.evaluate("window.scanHarness.scans.length")
        field.focus()
        field.fill("")
        field.press_sequentially("RM-A-01-02", delay=150)
        page.keyboard.press("Enter")
        page.wait_for_timeout(300)
        assert page.evaluate("window.scanHarness.scans.length") == scans_so_far
        assert field.input_value() == "RM-A-01-02"
        # A scan right after a person's keys in the same field: only the scanner's characters are the scan.
        page.keyboard.type("-", delay=0)
        page.wait_for_timeout(100)
        assert _scanned(page, "FG-01-01")["raw"] == "FG-01-01"
        # ...and without a field either.
        scans_so_far = page.evaluate("window.scanHarness.scans.length")
        page.evaluate("document.activeElement.blur()")
        page.keyboard.type("0109506000134352", delay=150)
        page.keyboard.press("Enter")
        page.wait_for_timeout(300)
        assert page.evaluate("window.scanHarness.scans.length") == scans_so_far
        assert problems == []


@pytest.mark.browser
def test_the_fake_camera_showing_our_lot_label_is_decoded_with_the_wasm_from_our_server(server, admin, tmp_path):
    label = admin.get("/api/labels/lots.png", params={"item": "GAS-C4", "lot": "CAM-LOT-7", "expiry": "2027-05-31",
                                                       "symbology": "datamatrix"})
    assert label.status_code == 200, label.text
    video = label_y4m(label.content, tmp_path / "lot-label.y4m")
    with chromium_with_camera(video) as browser:
        context = browser.new_context(permissions=["camera"], locale="en-GB")
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        problems = _harness(page, server.url)
        assert page.evaluate("'BarcodeDetector' in window") is False, "Debian's Chromium: the polyfill path"
        page.locator("#camera-start").click()
        poll(page, "window.scanHarness.scans.length > 0", 30_000)
        scan = page.evaluate("window.scanHarness.scans[0]")
        assert scan["source"] == "camera" and scan["raw"].startswith("]d2"), scan
        assert scan["reading"]["gtin"] == "04006381005012" and scan["reading"]["lot"] == "CAM-LOT-7"
        assert page.locator("#r-expiry").text_content() == "2027-05-31"
        assert page.locator("#feedback").get_attribute("class") == "ok"
        # Shown for a second and a half more: the same label is not delivered again.
        page.wait_for_timeout(1500)
        assert page.evaluate("window.scanHarness.scans.length") == 1
        page.locator("#camera-stop").click()
        wasm = [url for url in requests if url.endswith(".wasm")]
        assert wasm == [f"{server.url}/app/vendor/zxing_reader.wasm"], requests
        assert all(url.startswith(server.url) for url in requests), "nothing from a CDN"
        assert problems == []


def _timed_scan(page, text: str, lot: str) -> None:
    """Wedge `text` until it is timed as a scan of its own lot. A stall on a busy machine can split a burst, so that
    no part of it is a scan (no timing) or only its tail is (a timing, but no reading of the lot): the label is
    scanned again, as an operator would, from a cleared field."""
    for _ in range(4):
        before = page.evaluate("window.scanHarness.timings.length")
        wedge(page, text, delay=2)
        try:
            poll(page, f"window.scanHarness.timings.length > {before}", 3_000)
        except AssertionError:
            page.locator("#scan-field").fill("")
            continue
        if ((page.evaluate("window.scanHarness.scans")[-1]["reading"] or {}).get("lot")) == lot:
            return
        page.locator("#scan-field").fill("")
    raise AssertionError(f"no burst of {text!r} was read as a scan of {lot}")


@pytest.mark.browser
def test_scans_are_read_and_timed_offline_from_the_service_workers_cache(server):
    """With the network gone, the harness reloads from the service worker's cache and wedge scans are read and timed
    there. The time itself is a figure of `make bench` (100 scans against a bare key round trip in the same run), not
    of the suite: a few scans prove the path."""
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        problems = _harness(page, server.url)
        poll(page, "navigator.serviceWorker.ready.then(() => true)")
        page.reload()
        poll(page, "navigator.serviceWorker.controller !== null")
        context.set_offline(True)
        page.reload()  # the harness itself from the service worker's cache
        poll(page, "window.scanHarness !== undefined")
        page.locator("#scan-field").focus()
        for n in range(3):
            _timed_scan(page, f"]C1010950600013435210LOT{n:03d}{GS}21S{n}", f"LOT{n:03d}")
        # _timed_scan saw each lot read and timed; a burst a stall split was scanned again, so there may be more
        assert {(scan["reading"] or {}).get("lot") for scan in page.evaluate("window.scanHarness.scans")} >= {"LOT000", "LOT001", "LOT002"}
        context.set_offline(False)
        assert problems == [] or all("ERR_INTERNET_DISCONNECTED" in problem for problem in problems), problems


@pytest.mark.browser
def test_a_screen_fills_from_the_camera_as_from_a_scanner(server, login, admin, tmp_path):
    """The move screen's camera button: Chromium's fake camera shows our own lot label, the app decodes it with the
    polyfill and fills the item (found by its GTIN in the replica) and the lot, as a wedge scan would."""
    label = admin.get("/api/labels/lots.png", params={"item": "GAS-C4", "lot": "CAM-MOVE-1", "expiry": "2027-06-30",
                                                       "symbology": "datamatrix"})
    assert label.status_code == 200, label.text
    video = label_y4m(label.content, tmp_path / "move-label.y4m")
    with chromium_with_camera(video) as browser:
        context = new_context(browser)
        context.grant_permissions(["camera"])
        page = context.new_page()
        enrol(page, server.url, login("warehouse"), warehouses=["RM"])
        go(page, "move")
        page.locator("#camera-toggle").click()
        expect(page.locator("#move-form input[name=item]")).to_have_value("GAS-C4", timeout=30_000)
        expect(page.locator("#move-form input[name=lot]")).to_have_value("CAM-MOVE-1")
        expect(page.locator("#camera-toggle")).to_have_attribute("data-state", "on")
        page.locator("#camera-toggle").click()
        expect(page.locator("#camera-view")).to_be_hidden()
        expect(page.locator("#camera-toggle")).to_have_attribute("data-state", "off")
        context.close()
