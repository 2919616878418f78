"""A refusal on an office page is said in the reader's language: a Chinese reader gets the catalog's sentence with the
refusal's figures in it, not the API's English message in brackets, and a field the form could not read is named with
the kind of problem alone. The API keeps its English message and code. Through the stock desk's forms, over HTTP."""

from __future__ import annotations

from tests.clients import Browser
from tests.english import english_on_screen
from tests.factory import count_in, finished_item


def chinese_clerk(browse, unique) -> Browser:
    username = unique("cangku").lower()
    created = browse("admin").post("/users", [("username", username), ("display_name", "仓库员"), ("password", "long-enough-pw"),
                                              ("roles", "warehouse"), ("language", "zh")])
    assert created.status_code == 303, created.text
    clerk = browse()
    assert clerk.log_in(username, "long-enough-pw").status_code in (302, 303)
    return clerk


def panel(page: str, section: str) -> str:
    return page.split(f'id="{section}"')[1].split("</section>")[0]


def test_a_stock_refusal_is_said_in_chinese_with_its_figures_and_the_api_keeps_its_english(login, unique, browse):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-01-02", "3")
    clerk = chinese_clerk(browse, unique)
    move = {"item": item, "lot": "", "from_location": "FG-01-02", "to_location": "FG-02-01", "quantity": "5",
            "for_order": ""}

    refused = clerk.post("/stock/moves", move)
    assert refused.status_code == 422
    said = panel(refused.text, "move")
    assert f"库存不足：库位 FG-01-02 的 {item} 只有 3，需要 5" in said, said
    assert english_on_screen(said, [item]) == [], said

    same = panel(clerk.post("/stock/moves", {**move, "to_location": "FG-01-02"}).text, "move")
    assert "源库位与目标库位相同（FG-01-02）" in same and english_on_screen(same, [item]) == [], same
    unknown = panel(clerk.post("/stock/counts", {"item": item, "lot": "", "location": "NOWHERE-1",
                                                 "counted_quantity": "1", "reason": ""}).text, "count")
    assert "库位 NOWHERE-1 不存在" in unknown and english_on_screen(unknown, [item, "NOWHERE-1"]) == [], unknown
    unreadable = panel(clerk.post("/stock/moves", {**move, "quantity": "five"}).text, "move")
    assert "数量: 数值类型不正确" in unreadable and english_on_screen(unreadable, [item, "five"]) == [], unreadable

    api = login("warehouse").post("/api/stock/moves", json={k: v for k, v in move.items() if v})
    assert api.status_code == 422 and api.json()["code"] == "insufficient_stock"
    assert api.json()["message"] == f"Only 3 of {item!r} at 'FG-01-02'"
    assert (api.json()["details"]["available"], api.json()["details"]["requested"]) == ("3", "5")


def alert(page: str) -> str:
    return page.split('role="alert"')[1].split("</div>")[0]


def test_refusals_that_had_no_chinese_sentence_are_said_in_chinese_with_their_values(login, unique, browse):
    """Refusals the catalogs once lacked (an unknown lot or purchase order, a built-in role, a missing department)
    came out as the API's English, alone or in brackets: now each is a Chinese sentence with the refusal's values,
    a kind of record and a built-in role in the reader's words."""
    item = finished_item(login, unique)  # lot-tracked
    clerk = chinese_clerk(browse, unique)
    move = {"item": item, "lot": "NOPE-LOT", "from_location": "FG-01-02", "to_location": "FG-02-01", "quantity": "1",
            "for_order": ""}
    no_lot = clerk.post("/stock/moves", move)
    assert no_lot.status_code == 422
    said = panel(no_lot.text, "move")
    assert f"{item} 没有批次 NOPE-LOT" in said and english_on_screen(said, [item, "NOPE-LOT"]) == [], said
    receipt = {"purchase_order": "PO-NOPE-1", "line_no": "10", "item": item, "lot": "L1", "expiry": "",
               "location": "RCV-01", "quantity": "1"}
    no_po = panel(clerk.post("/stock/receipts", receipt).text, "receive")
    assert "采购订单 PO-NOPE-1 不存在" in no_po and english_on_screen(no_po, [item, "PO-NOPE-1"]) == [], no_po

    chief = unique("zhuguan").lower()
    created = browse("admin").post("/users", [("username", chief), ("display_name", "主管"), ("password", "long-enough-pw"),
                                              ("roles", "admin"), ("language", "zh")])
    assert created.status_code == 303, created.text
    admin = browse()
    assert admin.log_in(chief, "long-enough-pw").status_code in (302, 303)
    built_in = admin.post("/organisation", [("action", "update_role"), ("code", "planner"), ("name", "计划"),
                                            ("permissions", "stock.read")])
    assert built_in.status_code == 422
    said = alert(built_in.text)
    assert "planner: 计划员 是内置角色：请复制为自定义角色后再修改其权限" in said, said
    assert english_on_screen(said, ["planner"]) == [], said
    missing = alert(admin.post("/organisation", {"action": "delete_department", "code": "NO-DEPT"}).text)
    assert "NO-DEPT: 部门 NO-DEPT 不存在" in missing and english_on_screen(missing, ["NO-DEPT"]) == [], missing

    api = login("admin").patch("/api/roles/planner", json={"name": "计划"})
    assert api.status_code == 409 and api.json()["code"] == "built_in_role"
    assert api.json()["message"].startswith("planner is a built-in role") and api.json()["details"] == {"role": "planner"}
