"""Every office page in Chinese holds no English sentence: each page of the route table (so a new page is covered the
day it is added), its list and at least one of its details from the demo factory, opened over plain HTTP by a
Chinese-speaking user who may see them all. A run of two English words, a raw status or a field's internal name is
a message that was never put in the catalogs; codes, units and what the data itself says are not."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

from litestar import Router
from litestar.routes import HTTPRoute
from piccolo.columns import JSON, Text, Varchar
from piccolo.table import Table
from pydantic import BaseModel

from server.accounts.permissions import Role
from server.web import WEB_HANDLERS
from tests.english import ScreenText as _Text
from tests.english import english_runs
from tests.faults import Oracle

# Pages that are no office page in Chinese: the raw OpenAPI viewer and the machine endpoints.
NOT_PAGES = re.compile(r"^/(api|static|app|schema|health|metrics)(/|$)")
# Detail pages opened per kind: the demo's few orders of each kind in their different states (held, waiting, approved).
DETAILS_PER_KIND = 5
TYPED_COLUMNS = {"username", "name", "display_name", "description", "notes", "note", "address", "delivery_address", "reason",
                 "scrap_reason", "customer_reference", "signer_name", "reference", "summary", "platform", "disposition_note",
                 # A message's subject is written in its recipient's language, and a mail server's answer in its own.
                 "subject", "last_error"}
TYPED_JSON = {"contacts", "characteristics", "operations", "components", "shortfalls"}
def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _typed_by_people(server) -> list[str]:
    """Everything people typed into the shared server's database, by the demo loader and every other test (names,
    notes, addresses, reasons, contacts, inspection characteristics): data, shown as it was written. Columns where the
    system writes words of its own (review results, revision diffs, audit snapshots, hold reasons) are not read."""
    oracle = Oracle(server.database)
    found: set[str] = set()
    for table in _tables():
        for column in table._meta.columns:
            name = column._meta.db_column_name
            if name in TYPED_COLUMNS and isinstance(column, (Varchar, Text)) or name in TYPED_JSON and isinstance(column, (JSON, Text)):
                for (value,) in oracle.query(f'SELECT "{name}" FROM "{table._meta.tablename}"'):
                    found |= set(_strings(json.loads(value) if name in TYPED_JSON and isinstance(value, str) else value))
    # A record deleted since keeps what people typed in the audit trail's snapshots of it (a department renamed and
    # removed): the typed fields of every snapshot are data too.
    for row in oracle.query('SELECT "before", "after" FROM "audit_entry"'):
        for snapshot in row:
            found |= set(_typed_fields(json.loads(snapshot) if isinstance(snapshot, str) else snapshot))
    return sorted((s for s in found if len(s) > 1), key=len, reverse=True)


def _typed_fields(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in TYPED_COLUMNS and isinstance(inner, str):
                yield inner
            else:
                yield from _typed_fields(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _typed_fields(inner)


def _tables() -> Iterator[type[Table]]:
    pending = list(Table.__subclasses__())
    while pending:
        table = pending.pop()
        pending += table.__subclasses__()
        if table._meta.tablename:
            yield table


def _page_patterns() -> dict[str, re.Pattern[str]]:
    """Every GET page in the route table, its path parameters as wildcards to match links against."""
    patterns = {}
    for route in Router(path="/", route_handlers=WEB_HANDLERS).routes:
        if isinstance(route, HTTPRoute) and "GET" in route.methods and not NOT_PAGES.match(route.path):
            # A master-data page's kind is its first segment: /md/{path} names every kind of record.
            regex = route.path.replace("{path:str}", "(?P<kind>[^/?#]+)")
            patterns[route.path] = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/?#]+", regex) + r"(\?.*)?$")
    return patterns


def test_every_office_page_in_chinese_has_no_english_left(server, browse, unique):
    username = unique("zh").lower()
    created = browse("admin").post("/users", [
        ("username", username), ("display_name", "张三"), ("password", "long-enough-pw"), ("language", "zh"),
        *[("roles", role.value) for role in Role]])
    assert created.status_code == 303, created.text
    reader = browse(accept_language="zh-CN,zh;q=0.9")
    reader.log_in(username, "long-enough-pw")
    data = _typed_by_people(server)
    patterns = _page_patterns()
    to_open = [path for path in patterns if "{" not in path]
    opened: set[str] = set()
    covered: dict[tuple[str, str | None], int] = {}
    problems: dict[str, list[str]] = {}
    while to_open:
        path = to_open.pop(0)
        if path in opened:
            continue
        opened.add(path)
        page = reader.get(path, follow_redirects=True)
        assert page.status_code == 200, (path, page.status_code)
        if not page.headers.get("content-type", "").startswith("text/html"):
            continue
        parser = _Text()
        parser.feed(page.text)
        english = [run for piece in parser.pieces for run in english_runs(html.unescape(piece), data)]
        if english:
            problems[path] = sorted(set(english))
        for link in parser.links:
            for route, pattern in patterns.items():
                match = pattern.match(link)
                kind = (route, match.groupdict().get("kind")) if match else None
                if "{" in route and match and covered.get(kind, 0) < DETAILS_PER_KIND and not NOT_PAGES.match(link):
                    covered[kind] = covered.get(kind, 0) + 1
                    to_open.append(link)
    never_reached = {route for route in patterns if "{" in route} - {route for route, _ in covered}
    assert not problems, "\n".join(f"{path}: {runs}" for path, runs in problems.items())
    # A detail page of every kind the demo factory makes was opened (kinds it makes none of have no link to follow).
    assert not never_reached & {"/purchase-orders/{code:str}", "/sales-orders/{code:str}",
                                "/production-orders/{code:str}", "/sales-orders/{code:str}/tracking",
                                "/customers/{code:str}/orders", "/md/{path:str}"}, never_reached
    assert len(opened) > 40


def test_every_webhook_event_has_its_name_in_both_catalogs_and_no_name_is_left_for_an_event_gone():
    from server.i18n import catalog
    from server.webhooks.rules import EVENT_TYPES

    for lang in ("en", "zh"):
        named = {key.removeprefix("webhooks.event.") for key in catalog(lang) if key.startswith("webhooks.event.")}
        assert named == set(EVENT_TYPES), lang


def test_the_floor_apps_catalogs_have_the_same_keys_and_every_key_its_screens_name():
    import json

    from tests.servers import REPO

    locales = REPO / "pwa" / "src" / "locales"
    english, chinese = (json.loads((locales / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh"))
    assert set(english) == set(chinese)
    assert all(text.strip() for text in chinese.values())
    used = set()
    for script in (REPO / "pwa" / "src").rglob("*.js"):
        if "generated" not in script.parts:
            used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", script.read_text(encoding="utf-8")))
    assert len(used) > 100 and sorted(used - set(english)) == []
    assert {"production_status.in_progress", "production_status.released"} <= set(chinese)


def test_every_field_a_history_or_the_audit_trail_can_show_has_a_label():
    """The audit trail and an order's history show any field of a record's snapshot (the API's *Out models)."""
    import importlib
    import pkgutil

    import schemas
    from server.i18n import catalog
    from server.web.order_words import field_label

    names = set()
    for module in pkgutil.iter_modules(schemas.__path__):
        for name, model in vars(importlib.import_module(f"schemas.{module.name}")).items():
            if isinstance(model, type) and issubclass(model, BaseModel) and name.endswith("Out"):
                names |= set(model.model_fields)
    assert len(names) > 150
    unlabelled = sorted(name for name in names if field_label("zh", name) == name)
    assert unlabelled == []
    assert catalog("zh")["field.shipped_quantity"] == "已发货数量"


def test_every_catalog_entry_takes_the_same_values_in_both_languages():
    """A sentence with numbers is one entry with parameters: the Chinese one names the very same values."""
    import json

    from server.i18n import catalog
    from tests.servers import REPO

    locales = REPO / "pwa" / "src" / "locales"
    pairs = [(catalog("en"), catalog("zh"))]
    pairs.append(tuple(json.loads((locales / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh")))
    for english, chinese in pairs:
        differ = [key for key in english if set(re.findall(r"\{(\w+)\}", english[key]))
                  != set(re.findall(r"\{(\w+)\}", chinese.get(key, "")))]
        assert differ == []


def test_every_key_the_python_code_names_is_in_the_catalogs():
    """Keys Python builds from a code (`review.<code>`, `risk.<reason>`, `refusal.<limit>`, `role.<role>`…) exist,
    found in the source itself so a new one is checked the day it is written."""
    from server.accounts.permissions import BUILT_IN_ROLES
    from server.i18n import catalog
    from tests.servers import REPO

    source = "\n".join(path.read_text(encoding="utf-8") for path in (REPO / "server").rglob("*.py"))
    named = set(re.findall(r"""Message\(\s*f?["']([a-z_]+\.[a-z_.{}]+)["']""", source))
    checks = re.findall(r'_checked\(\w+, \w+, "([a-z_]+)"', source)
    checks += [code for pair in re.findall(r'"([a-z_]+)" if (?:over|breaches) else "([a-z_]+)"', source) for code in pair]
    named |= {f"review.{code}" for code in checks}
    named |= {f"review.breach_{code}" for code in re.findall(r'breaches.append\(\{"code": "([a-z_]+)"', source)}
    expanded = {key.replace("{verdict}", verdict).replace("{role}", role) for key in named
                for verdict in ("at_risk", "on_track") for role in BUILT_IN_ROLES}
    assert len(checks) == 6 and len(expanded) > 15
    assert sorted(expanded - set(catalog("en"))) == []
