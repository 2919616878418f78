"""Quality through the real interfaces: inspection plans at a desk, `quality.record` from a tablet on held stock (pass
releases, fail quarantines and opens an NCR), dispositions, each refusal with its code and nothing written, and the
verdict rule on its own."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from server.quality.rules import Characteristic, Judgement, Refusal, judge, plan_problems, result_passes
from tests.factory import on_hand
from tests.sync_fixtures import enrolled_device

GAUGE_PLAN = [
    {"name": "Stroke", "kind": "numeric", "unit": "mm", "lower_limit": "99.5", "upper_limit": "100.5"},
    {"name": "Leak test", "kind": "pass_fail"},
    {"name": "Paint", "kind": "pass_fail", "required": False},
]
PASSING = [{"characteristic": "Stroke", "value": "100.2"}, {"characteristic": "Leak test", "value": "pass"}]
FAILING = [{"characteristic": "Stroke", "value": "101"}, {"characteristic": "Leak test", "value": "pass"}]


# -- the verdict, as a plain function --------------------------------------------------------------------------

STROKE = Characteristic("Stroke", "numeric", "mm", Decimal("99.5"), Decimal("100.5"))
LEAK = Characteristic("Leak test", "pass_fail")
PAINT = Characteristic("Paint", "pass_fail", required=False)
PLAN = [STROKE, LEAK, PAINT]


def test_a_result_passes_within_its_limits_limits_included():
    assert result_passes(STROKE, Decimal("99.5")) and result_passes(STROKE, Decimal("100.5"))
    assert not result_passes(STROKE, Decimal("99.4999")) and not result_passes(STROKE, Decimal("100.51"))
    assert result_passes(Characteristic("Temp", "numeric", upper_limit=Decimal("-18")), Decimal("-20"))
    assert result_passes(LEAK, "pass") and not result_passes(LEAK, "fail")
    assert result_passes(LEAK, Decimal(1)) is None and result_passes(STROKE, "pass") is None


def test_the_verdict_passes_only_when_every_result_passes():
    passed = judge(PLAN, [("Stroke", Decimal("100")), ("leak TEST", "pass")])
    assert isinstance(passed, Judgement) and passed.verdict == "pass"
    assert [(c.characteristic, c.passed) for c in passed.checks] == [("Stroke", True), ("Leak test", True)]
    failed = judge(PLAN, [("Stroke", Decimal("100")), ("Leak test", "pass"), ("Paint", "fail")])
    assert isinstance(failed, Judgement) and failed.verdict == "fail"


def test_the_inspector_may_fail_what_the_numbers_pass_but_not_the_reverse():
    overruled = judge(PLAN, [("Stroke", Decimal("100")), ("Leak test", "pass")], stated="fail")
    assert isinstance(overruled, Judgement) and overruled.verdict == "fail"
    refused = judge(PLAN, [("Stroke", Decimal("101")), ("Leak test", "pass")], stated="pass")
    assert isinstance(refused, Refusal) and refused.code == "verdict_contradicts_results"


@pytest.mark.parametrize(("results", "code"), [
    ([("Stroke", Decimal("100")), ("Leak test", "pass"), ("Colour", "pass")], "unknown_characteristic"),
    ([("Stroke", Decimal("100"))], "missing_result"),
    ([("Stroke", Decimal("100")), ("Stroke", Decimal("100")), ("Leak test", "pass")], "duplicate_result"),
    ([("Stroke", "pass"), ("Leak test", "pass")], "invalid_result"),
    ([("Stroke", Decimal("100")), ("Leak test", Decimal("1"))], "invalid_result"),
])
def test_results_that_do_not_fit_the_plan_are_refused(results, code):
    refusal = judge(PLAN, results)
    assert isinstance(refusal, Refusal) and refusal.code == code


def test_without_a_plan_the_inspectors_verdict_decides():
    assert judge(None, [], "pass") == Judgement("pass", ())
    assert judge(None, [], "fail") == Judgement("fail", ())
    assert judge(None, []).code == "no_inspection_plan"
    assert judge(None, [("Stroke", Decimal(1))], "pass").code == "unknown_characteristic"


def test_a_plan_with_repeated_names_crossed_limits_or_limits_on_pass_fail_is_explained():
    problems = plan_problems([STROKE, Characteristic("stroke", "numeric"),
                              Characteristic("Bore", "numeric", lower_limit=Decimal(5), upper_limit=Decimal(4)),
                              Characteristic("Leak", "pass_fail", lower_limit=Decimal(0))])
    assert [code for _, code, _ in problems] == ["duplicate_characteristic", "invalid_limits", "limits_not_allowed"]
    assert plan_problems(PLAN) == []


# -- through HTTP ----------------------------------------------------------------------------------------------

@pytest.fixture
def item(login, unique) -> str:
    code = unique("GAUGE")
    login("planner").post("/api/items", json={"code": code, "name": "Inspected part", "type": "raw", "unit": "PCS",
                                               "inspection_required": True}).raise_for_status()
    return code


@pytest.fixture
def inspector(login) -> httpx.Client:
    return login("quality")


@pytest.fixture
def planned(item, inspector) -> str:
    created = inspector.post("/api/inspection-plans", json={"item": item, "characteristics": GAUGE_PLAN})
    assert created.status_code == 201, created.text
    return item


@pytest.fixture
def device(server, login, tmp_path):
    client = enrolled_device(server.url, login("warehouse"), tmp_path, warehouses=["RM"])
    yield client
    client.close()


def put_on_hold(login, inspector, item: str, quantity: str = "10", location: str = "RM-A-01-01",
                lot: str | None = None) -> None:
    """Stock counted in by the warehouse, then held by quality at a desk (a receipt of an inspected item does the same)."""
    counted = {"item": item, "location": location, "counted_quantity": quantity} | ({"lot": lot} if lot else {})
    assert login("warehouse").post("/api/stock/counts", json=counted).status_code == 201
    held = inspector.post("/api/quality/holds", json={"item": item, "location": location, "quantity": quantity}
                          | ({"lot": lot} if lot else {}))
    assert held.status_code == 201, held.text


def record(device, args: dict) -> dict:
    mutation = device.enqueue("quality.record", args)
    device.push_once()
    return device.result(mutation)


def inspections(office: httpx.Client, item: str) -> list[dict]:
    return office.get("/api/quality/inspections", params={"item": item}).json()["items"]


def ncrs(office: httpx.Client, item: str) -> list[dict]:
    return office.get("/api/nonconformances", params={"item": item}).json()["items"]


def test_a_plan_is_created_read_changed_and_deleted_audited_and_on_every_device(item, inspector, admin, server, login,
                                                                                tmp_path):
    created = inspector.post("/api/inspection-plans", json={"item": item, "description": "Incoming gauge check",
                                                             "characteristics": GAUGE_PLAN})
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["version"] == 1 and plan["characteristics"][0] == {
        "name": "Stroke", "kind": "numeric", "unit": "mm", "lower_limit": "99.5", "upper_limit": "100.5", "required": True}
    tablet = enrolled_device(server.url, login("warehouse"), tmp_path, warehouses=["FG"])
    tablet.pull_all()
    assert tablet.replica("inspection_plan")[item]["characteristics"][1]["name"] == "Leak test"

    changed = inspector.put(f"/api/inspection-plans/{item}", json={"version": 1, "characteristics": GAUGE_PLAN[:1]})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = inspector.put(f"/api/inspection-plans/{item}", json={"version": 1, "characteristics": GAUGE_PLAN})
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    tablet.pull_all()
    assert len(tablet.replica("inspection_plan")[item]["characteristics"]) == 1

    assert inspector.delete(f"/api/inspection-plans/{item}").status_code == 204
    assert inspector.get(f"/api/inspection-plans/{item}").status_code == 404
    tablet.pull_all()
    assert item not in tablet.replica("inspection_plan")
    tablet.close()
    audit = admin.get("/api/audit", params={"entity": "inspection_plan", "entity_key": item}).json()["items"]
    assert [e["action"] for e in audit] == ["delete", "update", "create"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"item": "NO-SUCH-ITEM", "characteristics": GAUGE_PLAN}, 422, "unknown_item"),
    ({"characteristics": [{"name": "Bore", "kind": "numeric", "lower_limit": "5", "upper_limit": "4"}]}, 422, "invalid_limits"),
    ({"characteristics": [GAUGE_PLAN[0], GAUGE_PLAN[0]]}, 422, "duplicate_characteristic"),
    ({"characteristics": [{"name": "Leak", "kind": "pass_fail", "upper_limit": "1"}]}, 422, "limits_not_allowed"),
    ({"characteristics": []}, 400, "too_short"),
    ({"characteristics": [{"name": "Leak", "kind": "visual"}]}, 400, "invalid_value"),
])
def test_a_bad_plan_is_refused_with_its_code_and_not_written(item, inspector, body, status, code):
    refused = inspector.post("/api/inspection-plans", json={"item": item} | body)
    assert refused.status_code == status and refused.json()["code"] == code, refused.text
    assert inspector.get(f"/api/inspection-plans/{item}").status_code == 404


def test_a_second_plan_for_an_item_is_a_duplicate(planned, inspector):
    again = inspector.post("/api/inspection-plans", json={"item": planned, "characteristics": GAUGE_PLAN})
    assert again.status_code == 409 and again.json()["code"] == "duplicate"


def test_a_viewer_reads_plans_but_may_not_write_hold_or_decide(planned, login):
    viewer = login("viewer")
    assert viewer.get(f"/api/inspection-plans/{planned}").status_code == 200
    assert viewer.post("/api/inspection-plans", json={"item": planned, "characteristics": GAUGE_PLAN}).status_code == 403
    assert viewer.put(f"/api/inspection-plans/{planned}", json={"version": 1, "characteristics": GAUGE_PLAN}).status_code == 403
    assert viewer.delete(f"/api/inspection-plans/{planned}").status_code == 403
    hold = viewer.post("/api/quality/holds", json={"item": planned, "location": "RM-A-01-01", "quantity": "1"})
    assert hold.status_code == 403 and hold.json()["code"] == "forbidden"
    assert viewer.post("/api/nonconformances/NCR-2000-0001/disposition", json={"disposition": "scrap"}).status_code == 403


def test_a_passing_inspection_on_held_stock_makes_it_available_again(planned, device, login, inspector, admin):
    put_on_hold(login, inspector, planned)
    assert set(on_hand(admin, planned)) == {("RM-A-01-01", None, "hold", "10")}
    held = inspector.get("/api/quality/holds", params={"item": planned}).json()["items"]
    assert [(h["location"], h["quantity"]) for h in held] == [("RM-A-01-01", "10")]

    result = record(device, {"subject": "receipt", "item": planned, "location": "RM-A-01-01", "results": PASSING})
    assert result["status"] == "applied", result
    assert result["effect"]["verdict"] == "pass" and result["effect"]["nonconformance"] is None
    assert result["effect"]["released"] == [{"location": "RM-A-01-01", "quantity": "10"}]
    assert set(on_hand(admin, planned)) == {("RM-A-01-01", None, "available", "10")}
    [inspection] = inspections(admin, planned)
    assert inspection["verdict"] == "pass" and inspection["by"].startswith("device ")
    assert [(r["characteristic"], r["value"], r["passed"]) for r in inspection["results"]] == [
        ("Stroke", "100.2", True), ("Leak test", "pass", True)]


def test_a_failing_inspection_quarantines_the_stock_and_scrap_writes_it_off(planned, device, login, inspector, admin):
    put_on_hold(login, inspector, planned, quantity="8")
    result = record(device, {"subject": "receipt", "item": planned, "location": "RM-A-01-01", "results": FAILING,
                             "note": "stroke long"})
    assert result["status"] == "applied", result
    effect = result["effect"]
    assert effect["verdict"] == "fail" and effect["quarantined"] == [{"location": "RM-A-01-01", "quantity": "8"}]
    assert set(on_hand(admin, planned)) == {("RM-A-01-01", None, "quarantine", "8")}
    [ncr] = ncrs(admin, planned)
    assert ncr["code"] == effect["nonconformance"] and ncr["code"].startswith("NCR-") and len(ncr["code"]) == 13
    assert (ncr["status"], ncr["disposition"], ncr["quantity"]) == ("open", "pending", "8")
    assert "Stroke" in ncr["description"]
    device.pull_all()
    assert device.replica("nonconformance")[ncr["code"]]["status"] == "open"

    wrong = inspector.post(f"/api/nonconformances/{ncr['code']}/disposition", json={"disposition": "burn"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_disposition"
    scrapped = inspector.post(f"/api/nonconformances/{ncr['code']}/disposition",
                              json={"disposition": "scrap", "note": "bent rods"})
    assert scrapped.status_code == 200, scrapped.text
    assert (scrapped.json()["status"], scrapped.json()["disposition"]) == ("closed", "scrap")
    assert set(on_hand(admin, planned)) == set()
    again = inspector.post(f"/api/nonconformances/{ncr['code']}/disposition", json={"disposition": "use_as_is"})
    assert again.status_code == 409 and again.json()["code"] == "ncr_closed"
    device.pull_all()
    assert ncr["code"] not in device.replica("nonconformance")
    audit = admin.get("/api/audit", params={"entity": "nonconformance", "entity_key": ncr["code"]}).json()["items"]
    assert [e["action"] for e in audit] == ["disposition"]


def test_rework_puts_stock_back_on_hold_for_another_inspection_and_use_as_is_makes_it_available(
        planned, device, login, inspector, admin):
    put_on_hold(login, inspector, planned, quantity="5")
    first = record(device, {"subject": "receipt", "item": planned, "location": "RM-A-01-01", "results": FAILING})
    code = first["effect"]["nonconformance"]
    assert inspector.post(f"/api/nonconformances/{code}/disposition", json={"disposition": "rework"}).status_code == 200
    assert set(on_hand(admin, planned)) == {("RM-A-01-01", None, "hold", "5")}
    second = record(device, {"subject": "receipt", "item": planned, "location": "RM-A-01-01", "results": PASSING})
    assert second["effect"]["verdict"] == "pass" and set(on_hand(admin, planned)) == {("RM-A-01-01", None, "available", "5")}

    inspector.post("/api/quality/holds", json={"item": planned, "location": "RM-A-01-01", "quantity": "2"}).raise_for_status()
    third = record(device, {"subject": "receipt", "item": planned, "location": "RM-A-01-01", "results": PASSING,
                            "verdict": "fail", "note": "scratched"})
    assert third["effect"]["verdict"] == "fail"
    code = third["effect"]["nonconformance"]
    assert inspector.post(f"/api/nonconformances/{code}/disposition", json={"disposition": "use_as_is"}).status_code == 200
    assert set(on_hand(admin, planned)) == {("RM-A-01-01", None, "available", "5")}


def test_return_to_supplier_sends_a_lots_quarantined_stock_out_and_the_lot_stays_known(login, inspector, device, admin,
                                                                                      unique):
    item = unique("LOTGAUGE")
    login("planner").post("/api/items", json={"code": item, "name": "Lot part", "type": "raw", "unit": "PCS",
                                              "lot_tracked": True}).raise_for_status()
    inspector.post("/api/inspection-plans", json={"item": item, "characteristics": GAUGE_PLAN}).raise_for_status()
    put_on_hold(login, inspector, item, quantity="4", location="RM-A-01-01", lot="L1")
    put_on_hold(login, inspector, item, quantity="6", location="RM-A-01-02", lot="L1")
    failed = record(device, {"subject": "lot", "item": item, "lot": "L1", "results": FAILING})
    assert failed["status"] == "applied", failed
    assert failed["effect"]["quarantined"] == [{"location": "RM-A-01-01", "quantity": "4"},
                                               {"location": "RM-A-01-02", "quantity": "6"}]
    code = failed["effect"]["nonconformance"]
    assert inspector.get(f"/api/nonconformances/{code}").json()["quantity"] == "10"
    returned = inspector.post(f"/api/nonconformances/{code}/disposition", json={"disposition": "return_to_supplier"})
    assert returned.status_code == 200, returned.text
    assert set(on_hand(admin, item)) == set()
    device.pull_all()
    assert f"{item}|L1" in device.replica("lot")


@pytest.fixture
def chair_order(login) -> str:
    """A production order of the demo's chairs at NB1: assembled at ASM, packed at PACK."""
    orders = login("viewer").get("/api/production-orders", params={"item": "CH-ERGO", "site": "NB1"}).json()["items"]
    assert orders and [op["work_centre"] for op in orders[0]["operations"]] == ["ASM", "PACK"], orders
    return orders[0]["code"]


def test_an_operation_is_recorded_and_a_failure_opens_an_ncr_naming_its_order(planned, device, inspector, admin,
                                                                               chair_order):
    result = record(device, {"subject": "operation", "item": planned, "production_order": chair_order,
                             "operation": "20", "quantity": "3", "results": FAILING})
    assert result["status"] == "applied", result
    ncr = inspector.get(f"/api/nonconformances/{result['effect']['nonconformance']}").json()
    assert (ncr["subject"], ncr["production_order"], ncr["operation"], ncr["places"]) == ("operation", chair_order, "20", [])
    assert (ncr["site"], ncr["quantity"]) == ("NB1", "3")
    closed = inspector.post(f"/api/nonconformances/{ncr['code']}/disposition", json={"disposition": "rework"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert set(on_hand(admin, planned)) == set()


def test_an_operation_record_names_an_order_and_operation_that_exist_inside_the_devices_scope(
        planned, device, server, login, admin, tmp_path, chair_order):
    cutting = enrolled_device(server.url, login("supervisor"), tmp_path, work_centres=["CUT"])
    for tablet, order, operation, code in ((device, "PRD-9999-9999", "20", "unknown_production_order"),
                                           (device, chair_order, "90", "unknown_operation"),
                                           (device, chair_order, "x", "unknown_operation"),
                                           (cutting, chair_order, "20", "out_of_scope")):  # ASM and PACK, not CUT
        result = record(tablet, {"subject": "operation", "item": planned, "production_order": order,
                                 "operation": operation, "quantity": "3", "results": FAILING})
        assert result["status"] == "rejected" and result["error"]["code"] == code, (order, operation, result)
    cutting.close()
    assert inspections(admin, planned) == [] and ncrs(admin, planned) == []


def test_without_a_plan_the_inspector_gives_the_verdict(item, device, login, inspector, admin):
    put_on_hold(login, inspector, item, quantity="3")
    refused = record(device, {"subject": "receipt", "item": item, "location": "RM-A-01-01"})
    assert refused["status"] == "rejected" and refused["error"]["code"] == "no_inspection_plan"
    passed = record(device, {"subject": "receipt", "item": item, "location": "RM-A-01-01", "verdict": "pass"})
    assert passed["effect"]["verdict"] == "pass" and set(on_hand(admin, item)) == {("RM-A-01-01", None, "available", "3")}


@pytest.mark.parametrize(("args", "code"), [
    ({"results": [*PASSING, {"characteristic": "Colour", "value": "pass"}]}, "unknown_characteristic"),
    ({"results": PASSING[:1]}, "missing_result"),
    ({"results": [{"characteristic": "Stroke", "value": "pass"}, PASSING[1]]}, "invalid_result"),
    ({"results": FAILING, "verdict": "pass"}, "verdict_contradicts_results"),
    ({"results": PASSING, "location": "RM-A-01-02"}, "nothing_on_hold"),
    ({"results": PASSING, "quantity": "11"}, "insufficient_stock"),
    ({"results": PASSING, "location": "FG-01-01"}, "out_of_scope"),
    ({"results": PASSING, "location": None}, "location_required"),
    ({"results": PASSING, "lot": "L1"}, "lot_not_tracked"),
])
def test_a_refused_record_has_its_code_and_writes_nothing(planned, device, login, inspector, admin, args, code):
    put_on_hold(login, inspector, planned)
    device.pull_all()
    before = device.cursor
    sent = {"subject": "receipt", "item": planned, "location": "RM-A-01-01"} | args
    result = record(device, {k: v for k, v in sent.items() if v is not None})
    assert result["status"] == "rejected" and result["error"]["code"] == code, result
    assert set(on_hand(admin, planned)) == {("RM-A-01-01", None, "hold", "10")}
    assert inspections(admin, planned) == [] and ncrs(admin, planned) == []
    device.pull_all()
    assert device.replica("nonconformance") == {} or all(n["item"] != planned for n in device.replica("nonconformance").values())
    assert device.cursor >= before


def test_a_duplicate_push_applies_once(planned, device, login, inspector, admin):
    put_on_hold(login, inspector, planned, quantity="6")
    mutation = device.enqueue("quality.record", {"subject": "receipt", "item": planned, "location": "RM-A-01-01",
                                                 "quantity": "4", "results": FAILING})
    batch = device.pending()
    device.push_once()
    first = device.result(mutation)["effect"]
    again = httpx.post(f"{device.base_url}/api/sync/push", json={"protocol": 1, "mutations": batch},
                       headers={"Authorization": f"Bearer {device.token}"}).json()
    assert [(r["status"], r["outcome"]) for r in again["results"]] == [("duplicate", "applied")]
    assert again["results"][0]["effect"] == first
    assert set(on_hand(admin, planned)) == {("RM-A-01-01", None, "hold", "2"), ("RM-A-01-01", None, "quarantine", "4")}
    assert len(inspections(admin, planned)) == 1 and len(ncrs(admin, planned)) == 1


def test_holds_and_releases_at_a_desk_are_audited_and_refused_beyond_what_is_there(planned, login, inspector, admin):
    put_on_hold(login, inspector, planned, quantity="5")
    too_much = inspector.post("/api/quality/holds/release", json={"item": planned, "location": "RM-A-01-01", "quantity": "6"})
    assert too_much.status_code == 422 and too_much.json()["code"] == "insufficient_stock"
    released = inspector.post("/api/quality/holds/release", json={"item": planned, "location": "RM-A-01-01", "quantity": "5",
                                                                  "note": "supplier certificate"})
    assert released.status_code == 200 and released.json()["to_quantity"] == "5"
    assert set(on_hand(admin, planned)) == {("RM-A-01-01", None, "available", "5")}
    audit = admin.get("/api/audit", params={"entity": "stock", "entity_key": planned}).json()["items"]
    assert [(e["action"], e["username"]) for e in audit] == [("release", "quality"), ("hold", "quality"), ("count", "warehouse")]


def test_an_inspection_recorded_at_a_desk_is_the_same_and_audited(planned, login, inspector, admin):
    put_on_hold(login, inspector, planned, quantity="2")
    recorded = inspector.post("/api/quality/inspections", json={"subject": "receipt", "item": planned,
                                                                "location": "RM-A-01-01", "results": PASSING})
    assert recorded.status_code == 201, recorded.text
    assert set(on_hand(admin, planned)) == {("RM-A-01-01", None, "available", "2")}
    assert inspections(admin, planned)[0]["by"] == "quality"
    audit = admin.get("/api/audit", params={"entity": "inspection", "entity_key": str(recorded.json()["inspection"])})
    assert audit.json()["total"] == 1
    nothing = inspector.post("/api/quality/inspections", json={"subject": "receipt", "item": planned,
                                                               "location": "RM-A-01-01", "results": PASSING})
    assert nothing.status_code == 422 and nothing.json()["code"] == "nothing_on_hold"


# -- the office pages ------------------------------------------------------------------------------------------

def test_an_inspector_works_plans_holds_and_an_ncr_through_the_pages(browse, item, login, admin):
    office = browse("quality")
    bad = office.post("/quality/plans/new", {"item": item, "chars-0-name": "Stroke", "chars-0-kind": "numeric",
                                             "chars-0-lower_limit": "5", "chars-0-upper_limit": "4", "chars-0-required": "on"})
    assert bad.status_code == 422 and "below the lower limit" in bad.text and 'value="Stroke"' in bad.text
    saved = office.post("/quality/plans/new", {
        "item": item, "description": "by the form",
        "chars-0-name": "Stroke", "chars-0-kind": "numeric", "chars-0-unit": "mm", "chars-0-lower_limit": "99.5",
        "chars-0-upper_limit": "100.5", "chars-0-required": "on",
        "chars-1-name": "Leak test", "chars-1-kind": "pass_fail", "chars-1-required": "on", "chars-2-name": ""})
    assert saved.status_code == 303, saved.text
    plan = admin.get(f"/api/inspection-plans/{item}").json()
    assert [(c["name"], c["lower_limit"], c["required"]) for c in plan["characteristics"]] == [
        ("Stroke", "99.5", True), ("Leak test", None, True)]
    assert 'value="100.5"' in office.get(f"/quality/plans/{item}/edit").text

    assert login("warehouse").post("/api/stock/counts", json={"item": item, "location": "RM-A-01-01",
                                                             "counted_quantity": "7"}).status_code == 201
    held = office.post("/quality/holds", {"item": item, "location": "RM-A-01-01", "quantity": "7"})
    assert held.status_code == 303
    page = office.get("/quality/holds", params={"item": item})
    assert page.status_code == 200 and "/quality/inspect?" in page.text and "RM-A-01-01" in page.text
    form = office.get("/quality/inspect", params={"item": item, "location": "RM-A-01-01"})
    assert "Leak test" in form.text and 'name="result-0"' in form.text
    missing = office.post("/quality/inspect", {"item": item, "location": "RM-A-01-01", "result-0-name": "Stroke",
                                               "result-0": "101", "result-1-name": "Leak test", "result-1": ""})
    assert missing.status_code == 422 and "Leak test" in missing.text
    failed = office.post("/quality/inspect", {"item": item, "location": "RM-A-01-01", "result-0-name": "Stroke",
                                              "result-0": "101", "result-1-name": "Leak test", "result-1": "pass"})
    assert failed.status_code == 303 and "done=fail" in failed.headers["location"]
    assert set(on_hand(admin, item)) == {("RM-A-01-01", None, "quarantine", "7")}

    [ncr] = ncrs(admin, item)
    chinese = browse("quality")
    assert chinese.post("/language", {"language": "zh", "next": "/quality/ncrs"}).status_code in (302, 303)
    detail = chinese.get(f"/quality/ncrs/{ncr['code']}")
    assert detail.status_code == 200 and "不合格报告" in detail.text and "报废" in detail.text
    chinese.post("/language", {"language": "en", "next": "/quality/ncrs"})  # the language is the user's: put it back
    assert ncr["code"] in office.get("/quality/ncrs", params={"status": "open"}).text
    wrong = office.post(f"/quality/ncrs/{ncr['code']}/disposition", {"disposition": "burn"})
    assert wrong.status_code == 422 and "not a disposition" in wrong.text
    decided = office.post(f"/quality/ncrs/{ncr['code']}/disposition", {"disposition": "scrap", "note": "bent"})
    assert decided.status_code == 303
    assert set(on_hand(admin, item)) == set()
    closed = office.get(f"/quality/ncrs/{ncr['code']}")
    assert 'id="disposition-form"' not in closed.text


def test_a_viewer_sees_quality_pages_without_buttons_and_may_not_post(browse, planned, login, inspector):
    put_on_hold(login, inspector, planned, quantity="1")
    viewer = browse("viewer")
    page = viewer.get("/quality/holds", params={"item": planned})
    assert page.status_code == 200 and planned in page.text and "/quality/inspect" not in page.text
    assert "/quality/holds/release" not in page.text
    assert viewer.get("/quality/plans").status_code == 200 and viewer.get("/quality/ncrs").status_code == 200
    assert viewer.post("/quality/holds", {"item": planned, "location": "RM-A-01-01", "quantity": "1"}).status_code == 403
    assert viewer.get("/quality/plans/new").status_code == 403


def test_the_demo_safety_parts_arrive_with_plans_to_check_them_against(admin):
    plans = {p["item"]: p for p in admin.get("/api/inspection-plans").json()["items"]}
    assert {"GAS-C4", "MECH-SYN"} <= set(plans)
    assert [c["name"] for c in plans["GAS-C4"]["characteristics"]][:2] == ["Stroke", "Extended length"]
