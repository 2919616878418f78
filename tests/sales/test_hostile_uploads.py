"""Uploads built to stall a server process: a 5 KB workbook that declares all 1,048,576 × 16,384 cells of a sheet
with one cell in its last row (openpyxl pads every missing row to the declared width), one with a cell in its last
column, and a CSV of a few hundred thousand empty lines. Each import answers with a 4xx at once, and the server
answers other requests meanwhile. And numbers the importers used to read in other notations and scripts."""

from __future__ import annotations

import io
import re
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from openpyxl import Workbook

ORDER_HEADER = ["order_ref", "customer", "site", "item", "quantity", "due_date"]
PAYMENT_HEADER = ["sales_order", "amount", "paid_on", "reference"]
IMPORTS = {"/api/sales-orders/import": ORDER_HEADER, "/api/sales-payments/import": PAYMENT_HEADER}


def workbook(header: list[str], row: int, column: int, declared: str) -> bytes:
    """A workbook with its header, one cell at (row, column), and the sheet's declared dimension rewritten."""
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    sheet.cell(row=row, column=column, value="x")
    written = io.BytesIO()
    book.save(written)
    bomb = io.BytesIO()
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{declared}"/>'.encode(), data)
                assert count == 1
            target.writestr(info, data)
    return bomb.getvalue()


def upload_while_serving(server, client: httpx.Client, path: str, name: str, content: bytes) -> httpx.Response:
    """The upload, and meanwhile /health asked again and again: each answer must come at once."""
    with ThreadPoolExecutor(1) as pool, httpx.Client(base_url=server.url, timeout=5) as other:
        started = time.monotonic()
        answer = pool.submit(client.post, path, files={"file": (name, content, "application/octet-stream")}, timeout=60)
        health_answers = 0
        while not answer.done() or health_answers == 0:
            asked = time.monotonic()
            assert other.get("/health").status_code == 200
            assert time.monotonic() - asked < 2, "the server stalled while reading the upload"
            health_answers += 1
        response = answer.result()
        assert time.monotonic() - started < 15, "the upload took too long to refuse"
    return response


def refused(response: httpx.Response, code: str) -> None:
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert body["code"] == code, body
    assert [error["code"] for error in body["details"]["errors"]] == [code]


@pytest.mark.parametrize("path", IMPORTS)
def test_a_workbook_declaring_every_cell_with_one_in_the_last_row_is_refused_at_once(server, login, path):
    bomb = workbook(IMPORTS[path], row=1_048_576, column=1, declared="A1:XFD1048576")
    assert len(bomb) < 10_000
    response = upload_while_serving(server, login("sales"), path, "bomb.xlsx", bomb)
    refused(response, "too_many_rows")


@pytest.mark.parametrize("path", IMPORTS)
def test_a_workbook_with_a_cell_in_its_last_column_is_refused_at_once(server, login, path):
    bomb = workbook(IMPORTS[path], row=3, column=16_384, declared="A1:XFD3")
    response = upload_while_serving(server, login("sales"), path, "wide.xlsx", bomb)
    refused(response, "too_many_columns")


def test_a_csv_of_empty_lines_is_refused_at_once(server, login):
    flood = (",".join(ORDER_HEADER) + "\n").encode() + b"\n" * 300_000
    response = upload_while_serving(server, login("sales"), "/api/sales-orders/import", "flood.csv", flood)
    refused(response, "too_many_rows")


def test_order_and_payment_imports_take_numbers_only_in_ascii_decimal_notation(login):
    sales = login("sales")
    orders = ",".join(ORDER_HEADER) + "\n" + "\n".join(
        f"HOSTILE-{n},NO-SUCH-CUSTOMER,NB1,CH-TASK,{quantity},2099-01-01" for n, quantity in enumerate(["1_000", "١٠", "12"]))
    answer = sales.post("/api/sales-orders/import", files={"file": ("orders.csv", orders.encode(), "text/csv")})
    assert answer.status_code == 422 and answer.json()["code"] == "import_invalid", answer.text
    found = {(p["row"], p["column"], p["code"]) for p in answer.json()["details"]["errors"]}
    assert {(2, "quantity", "invalid_format"), (3, "quantity", "invalid_format")} <= found
    assert not any(row == 4 and column == "quantity" for row, column, _ in found)

    payments = ",".join(PAYMENT_HEADER) + "\nSO-NONE-1,١٠٠,2026-01-05,BANK-1\nSO-NONE-2,\"1,000.50\",2026-01-05,BANK-2\n"
    answer = sales.post("/api/sales-payments/import", files={"file": ("payments.csv", payments.encode(), "text/csv")})
    assert answer.status_code == 422, answer.text
    found = {(p["row"], p["column"], p["code"]) for p in answer.json()["details"]["errors"]}
    assert (2, "amount", "invalid_amount") in found and not any(row == 3 and column == "amount" for row, column, _ in found)
