"""Sales orders imported from a spreadsheet through HTTP, all or nothing: a CSV and an XLSX (Chinese headers, date
cells) become draft orders with their revision, audit row and webhook event; a file with problems in several rows is
refused with every one of them and writes nothing; a dry run only checks; the same file twice is refused; the wrong
role, a file that is no spreadsheet and one too large are refused with a code; 3,000 lines import in one go; the
office page does the same in Chinese."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

import httpx
from openpyxl import Workbook

from tests.clients import CSRF_COOKIE, office
from tests.webhook_receiver import Receiver

TODAY = date.today()
DUE = (TODAY + timedelta(days=20)).isoformat()
LATER = (TODAY + timedelta(days=30)).isoformat()
PAST = (TODAY - timedelta(days=3)).isoformat()
HEADER = "order_ref,customer,site,customer_reference,notes,line_no,item,quantity,unit_price,discount_pct,due_date,promised_date"


# The tests' customer (the `customer` fixture).
CUSTOMER = {"prefix": "IMP", "name": "Ningbo import test", "grade": "B", "credit_limit": "100000",
            "payment_terms_days": 60, "address": "8 Harbour Road, Ningbo"}


def upload(client: httpx.Client, content: bytes | str, name: str = "orders.csv", dry_run: bool = False,
           media_type: str = "text/csv") -> httpx.Response:
    body = content.encode() if isinstance(content, str) else content
    return client.post("/api/sales-orders/import", params={"dry_run": "true"} if dry_run else None,
                       files={"file": (name, body, media_type)}, timeout=300)


def orders_of(client: httpx.Client, customer: str) -> list[dict]:
    response = client.get("/api/sales-orders", params={"customer": customer, "limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def problems(response: httpx.Response) -> set[tuple[int, str, str]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "import_invalid"
    return {(p["row"], p["column"], p["code"]) for p in body["details"]["errors"]}


def test_a_csv_of_two_orders_imports_as_drafts_with_revision_audit_and_webhook_and_not_twice(login, customer):
    sales, admin = login("sales"), login("admin")
    receiver = Receiver()
    subscription = admin.post("/api/webhooks", json={"url": receiver.url, "event_types": ["sales_order.created"]})
    assert subscription.status_code == 201, subscription.text
    csv_text = "\ufeff" + "\n".join([
        HEADER,
        f"WEB-1,{customer},NB1,PO-771,rush,,CH-TASK,10,320.00,,{DUE},",
        f"WEB-1,{customer},NB1,,,,CH-ERGO,2,450,5,{DUE},{LATER}",
        f"WEB-2,{customer},NB1,PO-772,,20,CH-TASK,4,300,,{DUE},",
    ]) + "\n"

    response = upload(sales, csv_text)

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["dry_run"], result["orders"], result["lines"]) == (False, 2, 3)
    assert [(o["order_ref"], o["customer"], o["lines"]) for o in result["imported"]] == [
        ("WEB-1", customer, 2), ("WEB-2", customer, 1)]
    first_code = result["imported"][0]["code"]
    first = sales.get(f"/api/sales-orders/{first_code}").json()
    assert (first["status"], first["source"], first["customer_reference"], first["notes"]) == ("draft", "import", "PO-771", "rush")
    assert (first["payment_terms_days"], first["delivery_address"], first["currency"]) == (60, "8 Harbour Road, Ningbo", "CNY")
    assert [(l["line_no"], l["item"], l["quantity"], l["value"], l["promised_date"]) for l in first["lines"]] == [
        (10, "CH-TASK", "10", "3200.00", None), (20, "CH-ERGO", "2", "855.00", LATER)]
    assert first["value"] == "4055.00"
    second = sales.get(f"/api/sales-orders/{result['imported'][1]['code']}").json()
    assert [line["line_no"] for line in second["lines"]] == [20]

    revisions = sales.get(f"/api/sales-orders/{first_code}/history").json()["revisions"]
    assert [(r["action"], r["actor"], r["version"]) for r in revisions] == [("create", "sales", 1)]
    assert {"field": "customer", "before": None, "after": customer} in revisions[0]["changes"]
    audit = admin.get("/api/audit", params={"entity": "sales_order", "entity_key": first_code}).json()["items"]
    assert [(a["action"], a["username"]) for a in audit] == [("import", "sales")]
    assert audit[0]["after"]["value"] == "4055.00"

    def announced() -> dict[str, dict]:
        events = (json.loads(r.body) for r in list(receiver.requests))
        return {e["data"]["order"]["code"]: e for e in events if e["data"]["order"]["customer"] == customer}

    deadline = time.monotonic() + 30
    while len(announced()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    created = announced()
    assert sorted(created) == sorted(o["code"] for o in result["imported"])
    assert (created[first_code]["type"], created[first_code]["data"]["actor"]) == ("sales_order.created", "sales")
    assert created[first_code]["data"]["order"]["value"] == "4055.00"
    admin.delete(f"/api/webhooks/{subscription.json()['id']}")
    receiver.close()

    # An imported order goes on like any other: it submits and the review approves it.
    submitted = sales.post(f"/api/sales-orders/{first_code}/submit", json={"version": 1})
    assert submitted.status_code == 200 and submitted.json()["status"] == "approved", submitted.text

    again = upload(sales, csv_text)
    assert problems(again) == {(2, "order_ref", "already_imported"), (4, "order_ref", "already_imported")}
    assert first_code in again.json()["details"]["errors"][0]["message"]
    assert len(orders_of(sales, customer)) == 2


def test_an_xlsx_with_chinese_headers_and_date_cells_imports(login, customer):
    sales = login("sales")
    book = Workbook()
    sheet = book.active
    sheet.append(["订单参考", "客户", "工厂", "物料", "数量", "单价", "折扣", "要求交期", "备注"])
    due = datetime.combine(TODAY + timedelta(days=15), datetime.min.time())
    sheet.append(["XL-1", customer, "NB1", "CH-TASK", 12, 299.5, 2.5, due, "展会订单"])
    sheet.append(["XL-1", customer, None, "CH-ERGO", 3, 410, None, due, None])
    sheet.append([None] * 9)  # a blank row in the middle is no line
    sheet.append(["XL-2", customer, "NB1", "CH-ERGO", 1, 410, 0, (TODAY + timedelta(days=40)).isoformat(), None])
    buffer = io.BytesIO()
    book.save(buffer)

    response = upload(sales, buffer.getvalue(), name="订单.xlsx",
                      media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    assert response.status_code == 200, response.text
    assert [(o["order_ref"], o["lines"]) for o in response.json()["imported"]] == [("XL-1", 2), ("XL-2", 1)]
    order = sales.get(f"/api/sales-orders/{response.json()['imported'][0]['code']}").json()
    assert order["notes"] == "展会订单" and order["site"] == "NB1"
    assert [(l["item"], Decimal(l["quantity"]), Decimal(l["unit_price"]), Decimal(l["discount_pct"]), l["due_date"])
            for l in order["lines"]] == [("CH-TASK", 12, Decimal("299.5"), Decimal("2.5"), due.date().isoformat()),
                                         ("CH-ERGO", 3, 410, 0, due.date().isoformat())]
    assert len(orders_of(sales, customer)) == 2


def test_a_file_with_problems_in_several_rows_reports_them_all_and_writes_nothing(login, customer):
    sales = login("sales")
    csv_text = "\n".join([
        HEADER,
        f"A-1,{customer},NB1,,,,CH-TASK,5,100,,{DUE},",            # 2: fine on its own
        f"A-1,{customer},NB9,,,,NO-SUCH-ITEM,5,100,,{DUE},",       # 3: another site for the same order, unknown item
        f"A-2,{customer},NB1,,,,CH-TASK,-1,100,,{PAST},",          # 4: negative quantity, due date past
        f"A-2,{customer},NB1,,,,CH-TASK,1.5,abc,,{DUE},{PAST}",    # 5: decimals for pieces, price not a number, promised past
        f",{customer},NB1,,,,CH-TASK,1,1,,{DUE},",                 # 6: no order_ref
        f"A-3,NO-SUCH-CUSTOMER,NB1,,,10,CH-TASK,1,1,,{DUE},",      # 7: unknown customer
        f"A-3,NO-SUCH-CUSTOMER,NB1,,,10,CH-ERGO,1,1,,2026-13-45,",  # 8: line 10 twice, not a date
        f"A-4,{customer},NB1,,,,CH-ERGO,1,1,120,{DUE},",           # 9: discount over 100 %
    ]) + "\n"

    response = upload(sales, csv_text)

    assert problems(response) == {
        (3, "site", "inconsistent_order"), (3, "item", "unknown_item"),
        (4, "quantity", "out_of_range"), (4, "due_date", "due_date_in_past"),
        (5, "quantity", "too_many_decimals"), (5, "unit_price", "invalid_type"),
        (5, "promised_date", "promised_date_in_past"),
        (6, "order_ref", "missing_field"),
        (7, "customer", "unknown_customer"),
        (8, "line_no", "duplicate_line"), (8, "due_date", "invalid_type"),
        (9, "discount_pct", "out_of_range"),
    }
    assert response.json()["details"]["errors"][0]["row"] == 3  # in row order
    assert orders_of(sales, customer) == []


def test_a_dry_run_checks_the_file_and_writes_nothing(login, customer):
    sales = login("sales")
    csv_text = f"{HEADER}\nDRY-1,{customer},NB1,,,,CH-TASK,3,100,,{DUE},\n"

    checked = upload(sales, csv_text, dry_run=True)

    assert checked.status_code == 200, checked.text
    assert checked.json() == {"dry_run": True, "orders": 1, "lines": 1, "imported": [
        {"order_ref": "DRY-1", "customer": customer, "code": None, "lines": 1}]}
    assert orders_of(sales, customer) == []
    assert upload(sales, csv_text).status_code == 200  # the check left nothing behind that would call it imported
    assert len(orders_of(sales, customer)) == 1


def test_only_a_role_that_writes_sales_orders_may_import(login, customer):
    csv_text = f"{HEADER}\nROLE-1,{customer},NB1,,,,CH-TASK,3,100,,{DUE},\n"
    for username in ("viewer", "warehouse"):
        response = upload(login(username), csv_text)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
    assert orders_of(login("sales"), customer) == []


def test_a_file_that_is_not_a_spreadsheet_or_has_the_wrong_header_or_is_too_large_is_refused(login, customer):
    sales = login("sales")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    response = upload(sales, png, name="photo.png", media_type="image/png")
    assert response.status_code == 422 and response.json()["code"] == "unreadable_file", response.text

    fake_xlsx = b"PK\x03\x04 this is no workbook"
    response = upload(sales, fake_xlsx, name="orders.xlsx")
    assert response.status_code == 422 and response.json()["code"] == "unreadable_file", response.text

    wrong_header = f"ref,customer,site,item,qty,due_date\nH-1,{customer},NB1,CH-TASK,1,{DUE}\n"
    assert problems(upload(sales, wrong_header)) == {
        (1, "ref", "unknown_column"), (1, "qty", "unknown_column"),
        (1, "order_ref", "missing_column"), (1, "quantity", "missing_column")}

    assert problems(upload(sales, HEADER + "\n")) == {(0, "", "empty_file")}

    row = f"BIG-1,{customer},NB1,,{'x' * 900},,CH-TASK,1,1,,{DUE},\n"
    too_large = HEADER + "\n" + row * (10 * 1024 * 1024 // len(row) + 10)
    response = upload(sales, too_large)
    assert response.status_code == 413, response.text[:500]
    assert response.json()["code"] == "file_too_large"

    response = sales.post("/api/sales-orders/import", data={"nothing": "here"})
    assert 400 <= response.status_code < 500 and response.status_code != 404, response.text
    assert orders_of(sales, customer) == []


def test_three_thousand_lines_import_in_one_go(login, customer):
    sales = login("sales")
    rows = [HEADER]
    for order in range(300):
        for line in range(10):
            item = "CH-TASK" if line % 2 else "CH-ERGO"
            rows.append(f"BULK-{order:04d},{customer},NB1,PO-{order},,,{item},{line + 1},{100 + line}.50,{line % 3},{DUE},")
    response = upload(sales, "\n".join(rows) + "\n")

    assert response.status_code == 200, response.text[:2000]
    result = response.json()
    assert (result["orders"], result["lines"]) == (300, 3000)
    codes = [order["code"] for order in result["imported"]]
    assert len(set(codes)) == 300
    listed = sales.get("/api/sales-orders", params={"customer": customer, "limit": 1}).json()
    assert listed["total"] == 300
    last = sales.get(f"/api/sales-orders/{codes[-1]}").json()
    assert (last["customer_reference"], len(last["lines"]), last["source"]) == ("PO-299", 10, "import")
    assert [line["line_no"] for line in last["lines"]] == list(range(10, 101, 10))
    assert Decimal(last["lines"][9]["quantity"]) == 10 and Decimal(last["lines"][9]["unit_price"]) == Decimal("109.5")
    history = sales.get(f"/api/sales-orders/{codes[-1]}/history").json()
    assert [r["action"] for r in history["revisions"]] == ["create"]


def page_upload(client: httpx.Client, content: str, dry_run: bool = False) -> httpx.Response:
    data = {"_csrf_token": client.cookies.get(CSRF_COOKIE)} | ({"dry_run": "true"} if dry_run else {})
    return client.post("/sales-orders/import", data=data, files={"file": ("orders.csv", content.encode(), "text/csv")})


def test_the_office_page_checks_then_imports_and_shows_each_problem_in_chinese(server, admin, login, customer, unique):
    clerk = unique("clerk").lower()
    made = admin.post("/api/users", json={"username": clerk, "display_name": "销售文员", "password": "floorsync-demo-zh",
                                          "roles": ["sales"], "language": "zh"})
    assert made.status_code == 201, made.text
    page = office(server.url, clerk, "floorsync-demo-zh")
    listing = page.get("/sales-orders")
    assert 'href="/sales-orders/import"' in listing.text and "导入销售订单" in listing.text
    form = page.get("/sales-orders/import")
    assert form.status_code == 200 and "订单参考" in form.text and 'name="dry_run"' in form.text

    bad = f"{HEADER}\nP-1,{customer},NB1,,,,NO-SUCH-ITEM,1,1,,{DUE},\nP-1,{customer},NB1,,,,CH-TASK,x,1,,{PAST},\n"
    refused = page_upload(page, bad)
    assert refused.status_code == 422
    assert "未导入任何数据" in refused.text and "物料不存在" in refused.text and "交期早于今天" in refused.text
    assert re.search(r'data-code="unknown_item"><td class="num">2</td><td>item</td>', refused.text)
    assert re.search(r'data-code="invalid_type"><td class="num">3</td><td>quantity</td>', refused.text)

    good = f"{HEADER}\nP-2,{customer},NB1,,,,CH-TASK,2,100,,{DUE},\n"
    checked = page_upload(page, good, dry_run=True)
    assert checked.status_code == 200 and "尚未写入任何数据" in checked.text
    assert orders_of(page, customer) == []
    imported = page_upload(page, good)
    assert imported.status_code == 200 and "已导入 1 张草稿订单" in imported.text
    [order] = orders_of(page, customer)
    assert f'href="/sales-orders/{order["code"]}"' in imported.text and order["created_by"] == clerk

    viewer = office(server.url, "viewer")
    assert viewer.get("/sales-orders/import").status_code == 403


def test_payments_from_accounting_import_all_or_nothing_and_once(login, unique):
    sales = login("sales")
    codes = []
    for quantity in ("10", "5"):
        created = sales.post("/api/sales-orders", json={"customer": "C-BJYB", "site": "NB1", "lines": [
            {"item": "CH-TASK", "quantity": quantity, "unit_price": "100",
             "due_date": (date.today() + timedelta(days=20)).isoformat()}]}).json()
        codes.append(sales.post(f"/api/sales-orders/{created['code']}/submit").json()["code"])
    ref = unique("BANK")
    good = f"sales_order,amount,paid_on,reference\n{codes[0]},600,2026-11-20,{ref}-1\n{codes[1]},\"1,000\",2026/11/21,{ref}-2\n"

    def send(text: str, **params):
        return sales.post("/api/sales-payments/import", params=params,
                          files={"file": ("payments.csv", text.encode(), "text/csv")})

    dry = send(good, dry_run="true")
    assert dry.status_code == 200 and dry.json() == {"dry_run": True, "payments": 2, "amount": "1600"}
    assert Decimal(sales.get(f"/api/sales-orders/{codes[0]}").json()["paid_amount"]) == 0
    done = send(good)
    assert done.status_code == 200, done.text
    assert [Decimal(sales.get(f"/api/sales-orders/{c}").json()["paid_amount"]) for c in codes] == [600, 1000]
    history = sales.get(f"/api/sales-orders/{codes[0]}/history").json()
    assert history["revisions"][-1]["action"] == "payment" and history["payments"][0]["reference"] == f"{ref}-1"

    again = send(good)
    assert again.status_code == 422 and again.json()["code"] == "import_invalid"
    assert {e["code"] for e in again.json()["details"]["errors"]} == {"already_recorded"}
    bad = send(f"订单号,金额,付款日期,凭证号\n{codes[0]},-5,2026-13-01,\nSO-NOPE,10,2026-11-01,{ref}-9\n")
    assert bad.status_code == 422
    assert sorted((e["row"], e["code"]) for e in bad.json()["details"]["errors"]) == [
        (2, "invalid_amount"), (2, "invalid_date"), (2, "reference_required"), (3, "unknown_sales_order")]
    assert {e["code"]: e["params"] for e in bad.json()["details"]["errors"]} == {
        "invalid_amount": {"value": "-5", "decimals": 4}, "invalid_date": {"value": "2026-13-01"},
        "reference_required": {"column": "reference", "max_length": 80}, "unknown_sales_order": {"sales_order": "SO-NOPE"}}
    assert [Decimal(sales.get(f"/api/sales-orders/{c}").json()["paid_amount"]) for c in codes] == [600, 1000], \
        "a refused file records nothing"
    assert login("viewer").post("/api/sales-payments/import", files={"file": ("p.csv", good.encode(), "text/csv")}
                                ).status_code == 403
