"""A reservation made before reservations recorded their bin (its location and lot empty, as the migration that
added them left the old rows) still holds its units: available-to-promise, a FEFO suggestion and a second shipment's
pick list offer only what is left once it took the item's last-expiring free units, and the old shipment is packed
from its pick list as before. The legacy row is written straight into the database, as the migration left it."""

from __future__ import annotations

import httpx

from tests.factory import confirmed_order, count_in, finished_item, plan_shipment, pushed, run_sql, shipment_of


def picked(shipment: dict) -> list[tuple[str | None, str, bool]]:
    return [(p["location"], p["quantity"], p["missing"]) for p in shipment["pick_list"]]


def figures(viewer: httpx.Client, item: str) -> tuple[str, str, str]:
    body = viewer.get(f"/api/stock/available/{item}").json()
    return body["on_hand"], body["reserved"], body["available_to_promise"]


def as_before_bins(server, shipment: str) -> None:
    """The shipment's reservations as they were before they held a bin."""
    run_sql(server, "UPDATE stock_reservation SET location = '', lot = '' WHERE order_code = ?", shipment)


def test_a_reservation_without_a_bin_is_never_promised_again_to_a_second_shipment(server, login, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-01-02", "5")
    legacy = plan_shipment(login, confirmed_order(login, [(item, "3")]))
    as_before_bins(server, legacy["code"])
    viewer = login("viewer")
    assert figures(viewer, item) == ("5", "3", "2")
    suggestion = viewer.get("/api/stock/fefo", params={"item": item, "quantity": "3", "warehouse": "FG"}).json()
    assert ([(p["location"], p["quantity"]) for p in suggestion["picks"]], suggestion["missing"]) == ([("FG-01-02", "2")], "1")

    second = plan_shipment(login, confirmed_order(login, [(item, "3")]))
    assert picked(second) == [("FG-01-02", "2", False), (None, "1", True)], "only the two nobody holds"
    assert figures(viewer, item) == ("5", "5", "0")
    third = plan_shipment(login, confirmed_order(login, [(item, "1")]))
    assert picked(third) == [(None, "1", True)]

    # The old shipment is packed from where its pick list points; what the second one holds stays for it.
    assert picked(shipment_of(login, legacy["code"])) == [("FG-01-02", "3", False)]
    take = {"shipment": legacy["code"], "contents": [{"item": item, "location": "FG-01-02", "quantity": "3"}]}
    assert pushed(packer, "shipment.pack", take)["status"] == "applied"
    assert figures(viewer, item) == ("2", "2", "0")
    more = pushed(packer, "shipment.pack", {"shipment": third["code"], "contents": [
        {"item": item, "location": "FG-01-02", "quantity": "1"}]})
    assert more["status"] == "rejected" and more["error"]["code"] == "reserved_for_another_order", more


def test_a_reservation_without_a_bin_holds_the_units_that_expire_last(server, login, unique):
    item = finished_item(login, unique, lot_tracked=True)
    warehouse = login("warehouse")
    count_in(warehouse, item, "FG-01-01", "2", lot="EARLY")
    count_in(warehouse, item, "FG-02-01", "2", lot="LATE")
    run_sql(server, "UPDATE lot SET expiry = ? WHERE item = ? AND code = ?", "2099-01-01", item, "EARLY")
    run_sql(server, "UPDATE lot SET expiry = ? WHERE item = ? AND code = ?", "2099-06-01", item, "LATE")
    legacy = plan_shipment(login, confirmed_order(login, [(item, "1")]))
    assert picked(legacy) == [("FG-01-01", "1", False)]
    as_before_bins(server, legacy["code"])

    second = plan_shipment(login, confirmed_order(login, [(item, "4")]))
    assert picked(second) == [("FG-01-01", "2", False), ("FG-02-01", "1", False), (None, "1", True)], \
        "first expiry first; the last unit to expire is the old reservation's"
    assert figures(login("viewer"), item) == ("4", "4", "0")
