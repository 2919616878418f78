"""The office pages over HTTP, as a browser without script would use them: login and logout, forms that create and
change master data (audited), refusals re-rendered next to the field, roles, CSV import, languages."""

from __future__ import annotations

import re
import typing

from pydantic import BaseModel

from server.accounts.permissions import Role
from server.i18n import catalog
from server.masterdata.resources import RESOURCES
from tests.clients import CSRF_COOKIE, Browser
from tests.servers import REPO

TEMPLATES = REPO / "server" / "web" / "templates"


def _template_keys() -> set[str]:
    keys = set()
    for template in TEMPLATES.glob("*.html"):
        # Literal keys only: t('resource.' ~ r.path) and the like are the families checked below.
        keys |= set(re.findall(r"\bt\('([a-z_]+\.[a-z_.]+)'\s*[,)]", template.read_text()))
    return keys


def _model_fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_both_catalogs_have_the_same_keys_and_every_key_the_pages_use():
    english, chinese = catalog("en"), catalog("zh")
    assert set(english) == set(chinese)
    assert all(chinese[k].strip() for k in chinese), "no empty translations"
    used = _template_keys() | {f"error.{r}{h}" for r in ("forbidden", "csrf", "not_found") for h in ("", "_hint")}
    used |= {f"role.{role.value}" for role in Role} | {f"audit.action_{a}" for a in ("create", "update", "archive", "restore", "import")}
    for resource in RESOURCES:
        used |= {f"resource.{resource.path}", f"entity.{resource.entity}"}
        models = [resource.create_model, resource.update_model]
        if resource.children:
            models.append(resource.children.model)
        for model in models:
            used |= {f"field.{name}" for name in _model_fields(model)}
            for info in model.model_fields.values():
                used |= {f"choice.{c}" for c in _literal_values(info.annotation)}
    assert sorted(used - set(english)) == []
    assert len(used) > 100
    # Chinese pages are really Chinese, not English copies.
    assert chinese["resource.items"] != english["resource.items"] and chinese["field.name"] == "名称"


def _literal_values(annotation) -> list[str]:
    found = []
    for arg in [annotation, *typing.get_args(annotation)]:
        while typing.get_origin(arg) is typing.Annotated:
            arg = typing.get_args(arg)[0]
        if typing.get_origin(arg) is typing.Literal:
            found += [str(v) for v in typing.get_args(arg)]
    return found


def test_login_form_logs_in_and_logout_ends_the_session(browse):
    browser = browse()
    assert browser.get("/").status_code == 303, "without a session the office sends you to the login form"
    form = browser.get("/login")
    assert 'name="_csrf_token"' in form.text and "Log in" in form.text
    answer = browser.log_in("planner")
    assert answer.status_code in (302, 303) and answer.headers["location"] == "/"
    home = browser.get("/")
    assert home.status_code == 200 and "Planner" in home.text and 'href="/md/items/new"' in home.text
    assert browser.post("/logout").status_code in (302, 303)
    assert browser.get("/").headers["location"] == "/login"


def test_a_wrong_password_shows_the_form_again_with_an_error(browse):
    answer = browse().log_in("planner", "not-the-password")
    assert answer.status_code == 401
    assert "Wrong username or password" in answer.text and 'value="planner"' in answer.text


def test_the_login_form_without_its_csrf_token_is_refused(browse):
    browser = browse()
    refused = browser.post("/login", {"username": "planner", "password": "floorsync-demo"}, token=False)
    assert refused.status_code == 403
    assert browser.get("/").status_code == 303


def test_too_many_login_attempts_get_the_form_back_with_the_reason(fresh_server):
    srv = fresh_server(demo=True, FLOORSYNC_LOGIN_RATE_LIMIT="3/minute")
    browser = Browser(srv.url, accept_language="zh-CN")
    assert [browser.log_in("planner", "guess").status_code for _ in range(3)] == [401, 401, 401]
    limited = browser.log_in("planner")
    assert limited.status_code == 429 and "登录尝试次数过多" in limited.text and 'name="_csrf_token"' in limited.text
    assert int(limited.headers["retry-after"]) > 0
    assert browser.get("/").status_code == 303, "still not logged in"
    browser.http.close()


def test_a_viewer_sees_no_create_button_and_may_not_post_the_form(browse, admin, unique):
    viewer = browse("viewer")
    items = viewer.get("/md/items")
    assert items.status_code == 200
    assert "/md/items/new" not in items.text and "/import" not in items.text and ">Archive<" not in items.text
    code = unique("VIEW")
    refused = viewer.post("/md/units/new", {"code": code, "name": "Sneaky"})
    assert refused.status_code == 403 and "Not allowed" in refused.text
    assert viewer.post("/md/units/archive", {"code": "PCS", "archive": "true"}).status_code == 403
    assert admin.get(f"/api/units/{code}").status_code == 404
    assert viewer.get("/audit").status_code == 403 and viewer.get("/users").status_code == 403
    record = viewer.get("/md/units/edit", params={"code": "PCS"})  # the demo's pieces: readable, not changeable
    assert record.status_code == 200 and "<fieldset disabled>" in record.text and ">Save<" not in record.text
    missing = viewer.get("/md/no-such-thing")
    assert missing.status_code == 404 and "Not found" in missing.text


def test_planner_creates_and_changes_an_item_through_the_forms_and_the_audit_shows_it(browse, admin, unique):
    planner = browse("planner")
    unit, code = unique("BOX"), unique("CHAIR")
    assert planner.post("/md/units/new", {"code": unit, "name": "Box", "decimals": "0"}).status_code == 303
    form = planner.get("/md/items/new")
    assert f'<option value="{unit}"' in form.text, "the unit is offered as a choice"
    created = planner.post(
        "/md/items/new",
        {"code": code, "name": "Office chair", "type": "finished", "unit": unit, "safety_stock": "4.5",
         "lead_time_days": "7", "lot_tracked": "true", "gtin": "", "description": ""},
    )
    assert created.status_code == 303, created.text
    listed = planner.get("/md/items", params={"q": code})
    assert code in listed.text and "Office chair" in listed.text
    item = admin.get(f"/api/items/{code}").json()
    assert item["lot_tracked"] is True and item["serial_tracked"] is False and item["safety_stock"] == "4.5"

    edit = planner.get("/md/items/edit", params={"code": code})
    assert 'value="Office chair"' in edit.text and 'name="lot_tracked" value="true" checked' in edit.text
    changed = planner.post(
        f"/md/items/edit?code={code}",
        {"name": "Office chair, black", "type": "finished", "unit": unit, "safety_stock": "4.5", "lead_time_days": "9",
         "lot_tracked": "true"},
    )
    assert changed.status_code == 303, changed.text
    assert admin.get(f"/api/items/{code}").json()["lead_time_days"] == 9

    audit = browse("admin").get("/audit", params={"entity": "item", "entity_key": code})
    assert audit.status_code == 200 and "planner" in audit.text
    assert "Office chair, black" in audit.text and ">Before<" in audit.text and "created" in audit.text


def test_refusals_come_back_next_to_the_field_not_as_errors(browse, unique):
    planner = browse("planner")
    code = unique("BAD")
    bad_gtin = planner.post("/md/items/new", {"code": code, "name": "X", "type": "raw", "unit": "NO-SUCH-UNIT", "gtin": "123"})
    assert bad_gtin.status_code == 422
    assert "Not saved" in bad_gtin.text and "GTIN" in bad_gtin.text and 'aria-invalid=true' in bad_gtin.text
    assert f'value="{code}"' in bad_gtin.text, "what the user typed is kept"
    blank = planner.post("/md/items/new", {"code": code, "name": "", "type": "", "unit": ""})
    assert blank.status_code == 422 and blank.text.count("Field required") == 3
    unknown_unit = planner.post("/md/items/new", {"code": code, "name": "X", "type": "raw", "unit": "NO-SUCH-UNIT"})
    assert unknown_unit.status_code == 422 and "no unit with code" in unknown_unit.text
    duplicate = planner.post("/md/units/new", {"code": "PCS", "name": "again"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.text


def test_bom_components_are_edited_as_lines(browse, admin, unique):
    planner = browse("planner")
    unit, parent, part, bom = unique("EA"), unique("ASSY"), unique("LEG"), unique("BOM")
    planner.post("/md/units/new", {"code": unit, "name": "Each"})
    for code, kind in ((parent, "finished"), (part, "raw")):
        assert planner.post("/md/items/new", {"code": code, "name": code, "type": kind, "unit": unit}).status_code == 303
    more = planner.post("/md/boms/new", {"code": bom, "item": parent, "_action": "more_lines"})
    assert more.status_code == 200 and 'name="components-2-component"' in more.text
    created = planner.post(
        "/md/boms/new",
        {"code": bom, "item": parent, "version": "1", "components-0-line_no": "10", "components-0-component": part,
         "components-0-quantity": "4", "components-1-line_no": "", "components-1-component": "", "components-1-quantity": ""},
    )
    assert created.status_code == 303, created.text
    stored = admin.get(f"/api/boms/{bom}").json()
    assert [(c["component"], c["quantity"]) for c in stored["components"]] == [(part, "4")]
    wrong = planner.post(
        f"/md/boms/edit?code={bom}",
        {"item": parent, "version": "1", "components-0-line_no": "10", "components-0-component": "NO-SUCH-PART",
         "components-0-quantity": "4"},
    )
    assert wrong.status_code == 422 and "components[0].component" in wrong.text


def test_nested_lists_are_edited_as_json_and_bad_json_is_explained(browse, admin, unique):
    sales = browse("sales")
    code = unique("CUST")
    customer = {"code": code, "name": "Acme Office", "grade": "A", "currency": "CNY", "credit_limit": "50000",
                "payment_terms_days": "45"}
    bad = sales.post("/md/customers/new", {**customer, "contacts": '[{"name": "Li Wei",'})
    assert bad.status_code == 422 and "not valid JSON" in bad.text
    assert admin.get(f"/api/customers/{code}").status_code == 404
    contacts = '[{"name": "Li Wei", "phone": "+86 21 5555 0101", "email": "li.wei@acme.example"}]'
    assert sales.post("/md/customers/new", {**customer, "contacts": contacts}).status_code == 303
    stored = admin.get(f"/api/customers/{code}").json()
    assert stored["contacts"][0]["email"] == "li.wei@acme.example" and stored["payment_terms_days"] == 45
    edit = sales.get("/md/customers/edit", params={"code": code})
    assert "li.wei@acme.example" in edit.text and '<option value="A" selected>' in edit.text
    listed = sales.get("/md/customers", params={"q": code}).text
    assert re.search(r">\s*50000\s*<", listed), "money shows as typed, without the column's trailing zeros"

    planner = browse("planner")
    centre = unique("WC")
    blank = planner.get("/md/work_centres/new").text
    assert "[\n  1,\n  2,\n  3,\n  4,\n  5\n]" in blank, "the default working week is filled in"
    created = planner.post(
        "/md/work_centres/new",
        {"code": centre, "name": "Welding", "parallel_capacity": "2", "efficiency_pct": "95.5",
         "shifts": '[{"name": "Early", "start": "06:00", "end": "14:00"}]', "working_days": "[1, 2, 3, 4, 5, 6]",
         "holidays": '["2026-10-01"]'},
    )
    assert created.status_code == 303, created.text
    stored = admin.get(f"/api/work_centres/{centre}").json()
    assert stored["shifts"][0]["start"] == "06:00" and stored["working_days"] == [1, 2, 3, 4, 5, 6]
    assert stored["holidays"] == ["2026-10-01"] and stored["efficiency_pct"] == "95.5"


def test_archive_and_restore_from_the_list(browse, admin, unique):
    planner = browse("planner")
    unit = unique("KG")
    planner.post("/md/units/new", {"code": unit, "name": "Kilogram", "decimals": "3"})
    assert planner.post("/md/units/archive", {"code": unit, "archive": "true"}).status_code == 303
    assert admin.get(f"/api/units/{unit}").json()["archived"] is True
    archived = planner.get("/md/units", params={"archived": "true", "q": unit})
    assert unit in archived.text and ">Restore<" in archived.text
    planner.post("/md/units/archive", {"code": unit, "archive": "false"})
    assert admin.get(f"/api/units/{unit}").json()["archived"] is False


def test_a_rejected_csv_import_lists_each_bad_row_and_imports_nothing(browse, admin, unique):
    planner = browse("planner")
    good, bad = unique("CSV1"), unique("CSV2")
    text = f"code,name,decimals\n{good},Good unit,0\n{bad},Bad unit,99\n"
    token = planner.http.cookies.get(CSRF_COOKIE)
    rejected = planner.http.post(
        "/md/units/import", data={"_csrf_token": token}, files={"file": ("units.csv", text.encode(), "text/csv")}
    )
    assert rejected.status_code == 422
    assert "nothing was imported" in rejected.text and "<td>3</td>" in rejected.text and "decimals" in rejected.text
    assert admin.get(f"/api/units/{good}").status_code == 404
    accepted = planner.http.post(
        "/md/units/import", data={"_csrf_token": token},
        files={"file": ("units.csv", f"code,name,decimals\n{good},Good unit,0\n".encode(), "text/csv")},
    )
    assert accepted.status_code == 200 and "1 created" in accepted.text
    assert admin.get(f"/api/units/{good}").json()["name"] == "Good unit"


def test_a_csv_file_in_an_unknown_encoding_is_refused_on_the_page(browse, admin, unique):
    planner = browse("planner")
    code = unique("ENC")
    token = planner.http.cookies.get(CSRF_COOKIE)
    text = f"code,name,decimals\n{code},\u00e9t\u00e9,0\n".encode("utf-16")
    refused = planner.http.post("/md/units/import", data={"_csrf_token": token}, files={"file": ("u.csv", text, "text/csv")})
    assert refused.status_code == 422 and "<html" in refused.text and "UTF-8" in refused.text
    assert admin.get(f"/api/units/{code}").status_code == 404


def test_search_by_htmx_returns_only_the_table(browse):
    planner = browse("planner")
    partial = planner.get("/md/units", params={"q": "PCS"}, headers={"HX-Request": "true", "HX-Target": "records"})
    assert partial.status_code == 200 and "<table" in partial.text and "<html" not in partial.text
    assert "<html" in planner.get("/md/units").text
    restore = {"HX-Request": "true", "HX-Target": "records", "HX-History-Restore-Request": "true"}
    assert "<html" in planner.get("/md/units", headers=restore).text, "history restore gets the whole page"


def test_pages_have_no_inline_script_style_or_event_handlers(browse):
    admin = browse("admin")
    pages = ["/", "/md/items", "/md/items/new", "/md/boms/new", "/md/work_centres/new", "/md/suppliers/new", "/audit", "/users"]
    for path in pages + ["/login"]:
        html = (admin if path != "/login" else browse()).get(path).text
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, path
        assert re.search(r"\sstyle=", html) is None, path
        assert re.search(r"\son[a-z]+=", html) is None, path
        assert 'name="_csrf_token"' in html or path == "/" , path
        assert "cdn" not in html.lower(), path


def test_language_follows_the_browser_before_login_and_the_user_after(browse, unique):
    chinese_visitor = browse(accept_language="zh-CN,zh;q=0.9,en;q=0.5")
    assert "用户名" in chinese_visitor.get("/login").text
    english_visitor = browse(accept_language="en-GB,en;q=0.9")
    assert "Username" in english_visitor.get("/login").text
    picked = english_visitor.get("/login", params={"lang": "zh"})
    assert "用户名" in picked.text and "用户名" in english_visitor.get("/login").text, "the choice is kept in a cookie"

    admin = browse("admin")
    username = unique("clerk").lower()
    created = admin.post(
        "/users",
        [("username", username), ("display_name", "Clerk"), ("password", "long-enough-pw"), ("roles", "planner"),
         ("language", "en")],
    )
    assert created.status_code == 303, created.text
    clerk = browse()
    clerk.log_in(username, "long-enough-pw")
    assert "Items" in clerk.get("/md/items").text
    switched = clerk.post("/language", {"language": "zh", "next": "/md/items"})
    assert switched.status_code in (302, 303) and switched.headers["location"] == "/md/items"
    assert "物料" in clerk.get("/md/items").text and "名称" in clerk.get("/md/items").text
    too_long = clerk.post("/md/units/new", {"code": unique("U"), "name": "x" * 201})
    assert too_long.status_code == 422 and "内容过长（最多 200）" in too_long.text and "at most 200" not in too_long.text
    clerk.post("/logout")
    again = browse(accept_language="en")
    again.log_in(username, "long-enough-pw")
    assert "物料" in again.get("/md/items").text, "remembered per user, whatever the browser says"
    assert again.post("/language", {"language": "zh", "next": "https://evil.example/"}).headers["location"] == "/"


def test_admin_manages_users_on_the_users_page(browse, unique):
    admin = browse("admin")
    username = unique("temp").lower()
    assert admin.post(
        "/users", [("username", username), ("display_name", "Temp"), ("password", "long-enough-pw"), ("roles", "viewer")]
    ).status_code == 303
    too_short = admin.post("/users", [("username", unique("x").lower()), ("display_name", "X"), ("password", "short"), ("roles", "viewer")])
    assert too_short.status_code == 422 and "at least 10" in too_short.text
    changed = admin.post("/users/update", [("username", username), ("display_name", "Temp"), ("roles", "buyer"), ("roles", "viewer")])
    assert changed.status_code == 303
    page = admin.get("/users").text
    assert username in page
    deactivated = admin.post("/users/update", [("username", username), ("display_name", "Temp"), ("roles", "buyer")])
    assert deactivated.status_code == 303
    assert browse().log_in(username, "long-enough-pw").status_code == 401, "an inactive user cannot log in"


def test_a_long_list_pages_with_previous_and_next(browse, login, unique):
    planner = login("planner")
    prefix = unique("PAGE")
    rows = "\n".join(f"{prefix}-{i:02d},Paged unit {i},0" for i in range(30))
    planner.post("/api/csv/units", files={"data": ("u.csv", f"code,name,decimals\n{rows}\n", "text/csv")}).raise_for_status()
    page = browse("planner")
    first = page.get("/md/units", params={"q": prefix})
    assert f"{prefix}-00" in first.text and f"{prefix}-29" not in first.text
    next_link = re.search(r'href="([^"]*page=2[^"]*)"', first.text)
    assert next_link is not None, "page 1 links to page 2"
    second = page.get(next_link.group(1).replace("&amp;", "&"))
    assert f"{prefix}-29" in second.text and f"{prefix}-00" not in second.text
    assert re.search(r'href="[^"]*page=1[^"]*"', second.text), "page 2 links back to page 1"
