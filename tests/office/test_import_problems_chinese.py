"""The problems of an imported file are said in the reader's language: a Chinese clerk who uploads a sales order file
or a master-data CSV on the office page reads a Chinese sentence per problem with the file's figures in it and no
English, and the problems file downloaded from the import pages (sales orders, master data, forecasts) is Chinese
too. The API keeps each problem's
English message and code, and gains the values (`params`) the sentence is made from. Over HTTP, as a browser posts."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from tests.clients import Browser
from tests.english import english_on_screen, english_runs
from tests.factory import make_customer, make_item

TODAY = date.today()
DUE = (TODAY + timedelta(days=20)).isoformat()
PAST = (TODAY - timedelta(days=3)).isoformat()
HEADER = "order_ref,customer,site,customer_reference,notes,line_no,item,quantity,unit_price,discount_pct,due_date,promised_date"
SALES_COLUMNS = HEADER.split(",")


def chinese_user(browse, unique, role: str) -> Browser:
    username = unique(f"zh{role}").lower()
    created = browse("admin").post("/users", [("username", username), ("display_name", "导入员"),
                                              ("password", "long-enough-pw"), ("roles", role), ("language", "zh")])
    assert created.status_code == 303, created.text
    user = browse()
    assert user.log_in(username, "long-enough-pw").status_code in (302, 303)
    return user


def upload(user: Browser, path: str, text: str, name: str = "orders.csv", **fields: str):
    return user.post(path, fields, files={"file": (name, text.encode(), "text/csv")})


def problems_table(page: str) -> str:
    return page.split('id="import-problems"')[1].split("</div>")[0]


def sales_file(customer: str) -> str:
    return "\n".join([
        HEADER,
        f"Z-1,{customer},NB1,,,,CH-TASK,5,100,,{DUE},",             # 2: fine on its own
        f"Z-1,{customer},NB2,,,,NO-SUCH-ITEM,5,100,,{DUE},",        # 3: another site for the order, unknown item
        f"Z-2,{customer},NB1,,,,CH-TASK,-1,100,,{PAST},",           # 4: negative quantity, due date past
        f"Z-2,{customer},NB1,,,,CH-TASK,1.5,abc,,{DUE},",           # 5: decimals for pieces, a price that is no number
        f"Z-3,NO-SUCH-CUSTOMER,NB1,,,10,CH-TASK,1,1,,{DUE},",       # 6: unknown customer
        f"Z-3,NO-SUCH-CUSTOMER,NB1,,,10,CH-ERGO,1,1,120,{DUE},",    # 7: line 10 twice, discount over 100 %
    ]) + "\n"


# What the file says, which a Chinese screen may show as it is: codes, column names, cell values.
def file_data(customer: str) -> list[str]:
    return sorted({customer, "NO-SUCH-CUSTOMER", "NO-SUCH-ITEM", "CH-TASK", "CH-ERGO", "NB1", "NB2", "abc", DUE, PAST,
                   *SALES_COLUMNS}, key=len, reverse=True)


def test_a_chinese_clerk_reads_each_sales_import_problem_as_a_chinese_sentence_with_its_figures(browse, login, unique):
    customer = make_customer(login("sales"), unique("ZHI"), name="宁波导入测试", grade="B", credit_limit="100000")
    clerk = chinese_user(browse, unique, "sales")

    refused = upload(clerk, "/sales-orders/import", sales_file(customer))

    assert refused.status_code == 422
    table = problems_table(refused.text)
    for sentence in ("订单 Z-1 在第 2 行此列为“NB1”，与本行不一致", "物料 NO-SUCH-ITEM 不存在", "-1 超出范围（&gt; 0）",
                     f"要求交期 {PAST} 早于今天", "物料 CH-TASK 最多允许 0 位小数", "“abc”不是此列的有效值",
                     "客户 NO-SUCH-CUSTOMER 不存在", "订单 Z-3 的行号 10 在第 6 行已出现", "120 超出范围（≤ 100）"):
        assert sentence in table, (sentence, table)
    assert english_on_screen(table, file_data(customer)) == [], table

    api = login("sales").post("/api/sales-orders/import", files={"file": ("orders.csv", sales_file(customer).encode(),
                                                                          "text/csv")})
    assert api.status_code == 422 and api.json()["code"] == "import_invalid"
    by_code = {p["code"]: p for p in api.json()["details"]["errors"]}
    assert by_code["unknown_item"]["message"] == "no item with code 'NO-SUCH-ITEM'"
    assert by_code["unknown_item"]["params"] == {"item": "NO-SUCH-ITEM"}
    assert by_code["duplicate_line"]["message"] == "line 10 of order 'Z-3' is also on row 6"
    assert by_code["duplicate_line"]["params"] == {"line_no": 10, "order_ref": "Z-3", "row": 6}
    assert by_code["due_date_in_past"] == {"row": 4, "column": "due_date", "code": "due_date_in_past",
                                           "message": f"due date {PAST} is before today", "params": {"date": PAST}}
    assert login("sales").get("/api/sales-orders", params={"customer": customer}).json()["items"] == []


def test_the_problems_file_a_chinese_clerk_downloads_has_each_row_with_its_problems_in_chinese(browse, login, unique):
    customer = make_customer(login("sales"), unique("ZHF"), name="宁波导入测试", grade="B", credit_limit="100000")
    clerk = chinese_user(browse, unique, "sales")

    download = upload(clerk, "/sales-orders/import", sales_file(customer), name="订单.csv", problems_file="csv")

    assert download.status_code == 200, download.text[:500]
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert download.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert rows[0] == [*SALES_COLUMNS, "问题"]
    assert rows[1] == sales_file(customer).splitlines()[1].split(",") + [""]  # a clean row: its cells, no problem
    assert "item: 物料 NO-SUCH-ITEM 不存在" in rows[2][-1] and "site: 订单 Z-1 在第 2 行此列为“NB1”" in rows[2][-1]
    assert f"due_date: 要求交期 {PAST} 早于今天" in rows[3][-1]
    assert "line_no: 订单 Z-3 的行号 10 在第 6 行已出现" in rows[6][-1]
    assert all(english_runs(row[-1], file_data(customer)) == [] for row in rows), [row[-1] for row in rows]
    assert login("sales").get("/api/sales-orders", params={"customer": customer}).json()["items"] == [], \
        "a problems file only checks"

    english = upload(browse("sales"), "/sales-orders/import", sales_file(customer), problems_file="csv")
    english_rows = list(csv.reader(io.StringIO(english.text.lstrip("\ufeff"))))
    assert english_rows[0][-1] == "Problems" and "item: no item with code 'NO-SUCH-ITEM'" in english_rows[2][-1]

    clean = f"{HEADER}\nZ-9,{customer},NB1,,,,CH-TASK,2,100,,{DUE},\n"
    checked = upload(clerk, "/sales-orders/import", clean, problems_file="csv")
    assert checked.status_code == 200 and "尚未写入任何数据" in checked.text, "a clean file is only checked"
    assert login("sales").get("/api/sales-orders", params={"customer": customer}).json()["items"] == []


def test_a_chinese_planner_reads_each_master_data_import_problem_as_a_chinese_sentence(browse, login, unique):
    planner = chinese_user(browse, unique, "planner")
    first, second, third, fourth, fifth = (unique(f"ZI{n}") for n in range(1, 6))
    items = "\n".join([
        "code,name,type,unit,lot_tracked,shelf_life_days,lead_time_days,order_minimum,order_maximum",
        f"{first},导入物料一,raw,NOPE-UNIT,false,,1,,",           # 2: a unit that does not exist
        f"{second},导入物料二,raw,PCS,false,30,1,,",               # 3: a shelf life without lots
        f"{third},导入物料三,raw,PCS,false,,1,10,5",               # 4: a largest order below the smallest
        f"{fourth},导入物料四,gadget,PCS,false,,-3,,",             # 5: no such type, a negative lead time
        f"{first},导入物料一,raw,PCS,false,,1,,",                  # 6: the same code again
        f"{fifth},导入物料五,raw,PCS,false,,1,,",                  # 7: fine
    ]) + "\n"

    refused = upload(planner, "/md/items/import", items, name="items.csv")

    assert refused.status_code == 422
    table = refused.text.split('class="alert error"')[1].split("</div>")[0]
    for sentence in ("计量单位 NOPE-UNIT 不存在", "有保质期的物料必须启用批次管理", "最大订货量（5）小于最小订货量（10）",
                     "“gadget”不是此列的有效值", "-3 超出范围（≥ 0）", f"{first} 在第 2 行也出现了"):
        assert sentence in table, (sentence, table)
    header = items.splitlines()[0].split(",")
    data = sorted({first, second, third, fourth, fifth, "NOPE-UNIT", "gadget", *header}, key=len, reverse=True)
    assert english_on_screen(table, data) == [], table
    assert login("planner").get(f"/api/items/{fifth}").status_code == 404, "nothing was imported"

    api = login("planner").post("/api/csv/items", files={"data": ("items.csv", items.encode(), "text/csv")})
    assert api.status_code == 422, api.text
    by_code = {p["code"]: p for p in api.json()["details"]["errors"]}
    assert by_code["unknown_reference"]["message"] == "unit: no unit with code 'NOPE-UNIT'"
    assert by_code["unknown_reference"]["params"] == {"entity": "unit", "value": "NOPE-UNIT"}
    assert by_code["order_maximum_below_minimum"]["params"] == {"maximum": "5", "minimum": "10"}


def download_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))


def test_the_master_data_and_forecast_problems_files_are_chinese_and_only_check(browse, login, unique):
    planner = chinese_user(browse, unique, "planner")
    good, bad = unique("ZU1"), unique("ZU2")
    units = f"code,name,decimals\n{good},好单位,2\n{bad},坏单位,9\n{good},好单位,2\n"

    rows = download_rows(upload(planner, "/md/units/import", units, name="units.csv", problems_file="csv"))

    assert rows[0] == ["code", "name", "decimals", "问题"]
    assert rows[1] == [good, "好单位", "2", ""]
    assert rows[2] == [bad, "坏单位", "9", "decimals: 9 超出范围（≤ 6）"]
    assert rows[3] == [good, "好单位", "2", f"code: {good} 在第 2 行也出现了"]
    assert login("planner").get(f"/api/units/{good}").status_code == 404
    checked = upload(planner, "/md/units/import", f"code,name,decimals\n{good},好单位,2\n", problems_file="csv")
    assert checked.status_code == 200 and "已检查 1 行：没有问题，尚未写入任何数据。" in checked.text
    assert login("planner").get(f"/api/units/{good}").status_code == 404, "a problems file only checks"

    item = make_item(login("admin"), unique("ZFC"), type="finished")
    monday = TODAY - timedelta(days=TODAY.weekday()) + timedelta(days=14)
    forecasts = f"工厂,物料,期间开始,数量\nNB1,{item},{monday},5\nNB1,{item},{monday + timedelta(days=2)},5\nNB9,{item},{monday},x\n"
    rows = download_rows(upload(planner, "/planning/forecasts/import", forecasts, name="预测.csv", problems_file="csv"))
    assert rows[0][-1] == "问题" and rows[1][-1] == ""
    assert rows[2][-1] == (f"period_start: {monday + timedelta(days=2)} 不是所在期间的第一天：按周预测须从该周的星期一"
                           f"（{monday}）开始")
    assert "site: 工厂 NB9 不存在" in rows[3][-1] and "quantity: “x”不是此列的有效值" in rows[3][-1]
    data = [item, "period_start", "quantity", "site", "NB9", "x"]
    assert all(english_runs(row[-1], data) == [] for row in rows), [row[-1] for row in rows]
    assert login("planner").get("/api/forecasts", params={"item": item}).json()["items"] == []
