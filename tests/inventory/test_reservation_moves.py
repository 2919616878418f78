"""A move may carry an order's reserved units and their reservation with them: naming the order (`for_order`), the
units go to the new bin, the order's promise and its shipment's pick list follow, and what is free stays free. More
than the order holds in the bin, an order with nothing reserved there, or a bin outside the shipment's warehouse is
refused and nothing is written. At the desk (API and page, in English and Chinese) and from a device, exactly once."""

from __future__ import annotations

import httpx

from tests.english import english_on_screen
from tests.factory import confirmed_order, count_in, finished_item, on_hand, plan_shipment, pushed, shipment_of


def picked(shipment: dict) -> list[tuple[str | None, str, bool]]:
    return [(p["location"], p["quantity"], p["missing"]) for p in shipment["pick_list"]]


def figures(viewer: httpx.Client, item: str) -> tuple[str, str, str]:
    body = viewer.get(f"/api/stock/available/{item}").json()
    return body["on_hand"], body["reserved"], body["available_to_promise"]


def reserved_stock(login, unique, reserve: str = "3", stock: str = "5") -> tuple[str, dict]:
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-01-02", stock)
    shipment = plan_shipment(login, confirmed_order(login, [(item, reserve)]))
    assert picked(shipment) == [("FG-01-02", reserve, False)]
    return item, shipment


def test_a_desk_move_naming_the_shipment_carries_its_reservation_and_the_pick_list_follows(login, unique, packer):
    item, shipment = reserved_stock(login, unique)
    clerk = login("warehouse")
    move = {"item": item, "from_location": "FG-01-02", "to_location": "FG-02-01", "quantity": "2",
            "for_order": shipment["code"]}

    moved = clerk.post("/api/stock/moves", json=move)
    assert moved.status_code == 201, moved.text
    assert moved.json()["carried"] == {"order_kind": "shipment", "order": shipment["code"], "quantity": "2"}
    assert on_hand(login("viewer"), item) == [("FG-01-02", None, "available", "3"), ("FG-02-01", None, "available", "2")]
    assert picked(shipment_of(login, shipment["code"])) == [("FG-01-02", "1", False), ("FG-02-01", "2", False)]
    assert figures(login("viewer"), item) == ("5", "3", "2"), "promised once, wherever it lies"

    # The last reserved unit follows into the bin the shipment already holds: one row there, not two.
    assert clerk.post("/api/stock/moves", json={**move, "quantity": "1"}).status_code == 201
    assert picked(shipment_of(login, shipment["code"])) == [("FG-02-01", "3", False)]
    # What stays at FG-01-02 is free: a plain move takes it; what went to FG-02-01 is the shipment's there.
    assert clerk.post("/api/stock/moves", json={"item": item, "from_location": "FG-01-02", "to_location": "FG-01-01",
                                                "quantity": "2"}).status_code == 201
    held = clerk.post("/api/stock/moves", json={"item": item, "from_location": "FG-02-01", "to_location": "FG-01-01",
                                                "quantity": "1"})
    assert held.status_code == 409 and held.json()["code"] == "reserved_for_order", held.text
    assert figures(login("viewer"), item) == ("5", "3", "2")

    # The pickers' devices get the new pick list, and packing from the new bin takes the shipment's own units.
    packer.pull_all()
    assert picked(packer.replica("shipment")[shipment["code"]]) == [("FG-02-01", "3", False)]
    take = {"shipment": shipment["code"], "contents": [{"item": item, "location": "FG-02-01", "quantity": "3"}]}
    assert pushed(packer, "shipment.pack", take)["status"] == "applied"
    assert figures(login("viewer"), item) == ("2", "0", "2")
    audit = login("admin").get("/api/audit", params={"entity": "stock", "entity_key": item}).json()["items"]
    assert [e["after"].get("carried", {}).get("quantity") for e in audit if e["action"] == "move"][-2:] == ["1", "2"]


def test_a_carried_move_beyond_the_reservation_or_for_another_order_or_warehouse_is_refused_and_nothing_is_written(
        login, unique):
    item, shipment = reserved_stock(login, unique)
    _, other = reserved_stock(login, unique, reserve="1", stock="1")
    clerk = login("warehouse")
    move = {"item": item, "from_location": "FG-01-02", "to_location": "FG-02-01", "for_order": shipment["code"]}

    beyond = clerk.post("/api/stock/moves", json={**move, "quantity": "4"})
    assert beyond.status_code == 409 and beyond.json()["code"] == "more_than_reserved", beyond.text
    assert (beyond.json()["details"]["reserved"], beyond.json()["details"]["requested"]) == ("3", "4")
    nothing_here = clerk.post("/api/stock/moves", json={**move, "quantity": "1", "for_order": other["code"]})
    assert nothing_here.status_code == 409 and nothing_here.json()["code"] == "no_reservation_here", nothing_here.text
    assert nothing_here.json()["details"]["order"] == other["code"]
    elsewhere = clerk.post("/api/stock/moves", json={**move, "quantity": "1", "to_location": "RM-A-01-01"})
    assert elsewhere.status_code == 409 and elsewhere.json()["code"] == "wrong_warehouse", elsewhere.text

    assert on_hand(login("viewer"), item) == [("FG-01-02", None, "available", "5")]
    assert picked(shipment_of(login, shipment["code"])) == [("FG-01-02", "3", False)]
    assert figures(login("viewer"), item) == ("5", "3", "2")
    audit = login("admin").get("/api/audit", params={"entity": "stock", "entity_key": item}).json()["items"]
    assert [e["action"] for e in audit] == ["count"], "a refused move leaves no trace"


def test_the_desk_form_carries_a_reservation_and_says_its_refusal_in_chinese(login, unique, browse):
    item, shipment = reserved_stock(login, unique)
    username = unique("cangku").lower()
    assert browse("admin").post("/users", [("username", username), ("display_name", "仓库员"), ("password", "long-enough-pw"),
                                           ("roles", "warehouse"), ("language", "zh")]).status_code == 303
    clerk = browse()
    assert clerk.log_in(username, "long-enough-pw").status_code in (302, 303)
    form = {"item": item, "lot": "", "from_location": "FG-01-02", "to_location": "FG-02-01", "quantity": "4",
            "for_order": shipment["code"]}

    refused = clerk.post("/stock/moves", form)
    assert refused.status_code == 422
    panel = refused.text.split('id="move"')[1].split("</section>")[0]
    assert f"库位 FG-01-02 的 {item} 只有 3 为 {shipment['code']} 预留" in panel, panel
    assert english_on_screen(panel, [item, shipment["code"]]) == [], panel
    assert f'value="{shipment["code"]}"' in panel, "what was typed stays on the form"

    assert clerk.post("/stock/moves", {**form, "quantity": "3"}).status_code == 303
    assert picked(shipment_of(login, shipment["code"])) == [("FG-02-01", "3", False)]
    assert on_hand(login("viewer"), item) == [("FG-01-02", None, "available", "2"), ("FG-02-01", None, "available", "3")]


def test_a_device_move_carries_the_reservation_once_even_when_pushed_again(server, login, unique, device):
    item, shipment = reserved_stock(login, unique)
    move = {"item": item, "from_location": "FG-01-02", "to_location": "FG-02-01", "quantity": "3",
            "for_order": shipment["code"]}

    mutation = device.enqueue("stock.move", move)
    batch = device.pending()
    device.push_once()
    result = device.result(mutation)
    assert result["status"] == "applied", result
    assert result["effect"]["carried"]["quantity"] == "3"
    again = httpx.post(f"{server.url}/api/sync/push", json={"protocol": 1, "mutations": batch},
                       headers={"Authorization": f"Bearer {device.token}"}).json()["results"][0]
    assert (again["status"], again["outcome"]) == ("duplicate", "applied")
    assert on_hand(login("viewer"), item) == [("FG-01-02", None, "available", "2"), ("FG-02-01", None, "available", "3")]
    assert picked(shipment_of(login, shipment["code"])) == [("FG-02-01", "3", False)]
    assert figures(login("viewer"), item) == ("5", "3", "2")

    beyond = pushed(device, "stock.move", {**move, "from_location": "FG-02-01", "to_location": "FG-01-01", "quantity": "4"})
    assert beyond["status"] == "rejected" and beyond["error"]["code"] == "more_than_reserved", beyond
    assert picked(shipment_of(login, shipment["code"])) == [("FG-02-01", "3", False)]
