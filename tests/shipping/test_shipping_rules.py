"""Shipping's rules on their own, no server: what each status allows, what a shipment may plan and its FEFO pick list,
how a shrinking order line cuts its shipments, how a pack spreads over lines, FEFO deviations, whose device may sign,
shortfalls and what they leave delivered, and the proof-of-delivery record and hash chain. Figures are worked by hand."""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from server.inventory.availability import Bin, Held, Pick, reservation_cuts, reservations_left
from server.shipping.rules import (
    GENESIS_HASH,
    JPEG_MAGIC,
    PNG_MAGIC,
    CarriedLine,
    Cut,
    LineLeft,
    Refusal,
    Scope,
    cancel_refusal,
    canonical_json,
    carried_per_line,
    cut_effect,
    cuts_to_fit,
    decoded_image,
    delivery_by_line,
    first_break,
    is_fefo_deviation,
    line_pick_rows,
    load_refusal,
    may_handle,
    may_sign,
    merged_picks,
    missing_by_line,
    over_open_refusal,
    pack_refusal,
    pick_list,
    plan_line_refusal,
    position_record,
    proof_hash,
    proof_record,
    replan_refusal,
    share_serials,
    shortfalls_by_line,
    sign_refusal,
    spread_over_lines,
    status_after_load,
    status_after_pack,
    stored_proof,
    utc_text,
    with_line_rows,
)

UNIT = 1_000_000  # one piece in micro-units


def code(refusal: Refusal | None) -> str | None:
    return refusal.code if refusal is not None else None


# -- statuses --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "pack", "load", "sign"), [
    ("planned", None, "nothing_packed", "shipment_not_loaded"),
    ("picking", None, None, "shipment_not_loaded"),
    ("packed", None, None, "shipment_not_loaded"),
    ("loaded", "shipment_loaded", None, None),
    ("delivered", "shipment_delivered", "shipment_delivered", "shipment_delivered"),
    ("cancelled", "shipment_cancelled", "shipment_cancelled", "shipment_cancelled"),
])
def test_packing_goes_on_until_loaded_loading_needs_something_packed_and_only_a_loaded_shipment_is_signed_for(
        status, pack, load, sign):
    assert (code(pack_refusal(status)), code(load_refusal(status)), code(sign_refusal(status))) == (pack, load, sign)


def test_a_shipment_is_cancelled_only_while_planned_or_picking_with_no_unit_packed():
    assert cancel_refusal("planned", 0) is None and cancel_refusal("picking", 0) is None
    assert code(cancel_refusal("picking", 1)) == "shipment_has_packed_units"
    assert code(cancel_refusal("packed", 1)) == "shipment_has_packed_units"
    assert code(cancel_refusal("loaded", 2)) == "shipment_has_packed_units"
    assert code(cancel_refusal("delivered", 2)) == "shipment_delivered"
    assert code(cancel_refusal("cancelled", 0)) == "shipment_cancelled"


def test_a_shipment_is_packed_once_every_line_is_and_picking_before():
    # (ordered, packed): 10 of 10 and 4 of 5 -> one piece is still to pack.
    assert status_after_pack([(10 * UNIT, 10 * UNIT), (5 * UNIT, 4 * UNIT)]) == "picking"
    assert status_after_pack([(10 * UNIT, 10 * UNIT), (5 * UNIT, 5 * UNIT)]) == "packed"


def test_a_shipment_is_loaded_when_it_is_all_packed_and_every_unit_is_on_the_vehicle():
    assert status_after_load(["loaded", "loaded"], "packed") == "loaded"
    assert status_after_load(["loaded", "packed"], "packed") == "packed"
    # A picking shipment stays picking even with every unit packed so far on the truck: more is to come.
    assert status_after_load(["loaded"], "picking") == "picking"


# -- planning ----------------------------------------------------------------------------------------------------------
def test_a_shipment_line_names_a_line_of_its_order_once():
    assert plan_line_refusal(1, set(), {1, 2}, "SO-1") is None
    assert code(plan_line_refusal(1, {1}, {1, 2}, "SO-1")) == "duplicate_line"
    unknown = plan_line_refusal(3, {1}, {1, 2}, "SO-1")
    assert unknown == Refusal("unknown_sales_order_line", "SO-1 has no line 3")


def test_open_shipments_carry_their_lines_summed_per_order_line():
    assert carried_per_line([(1, 2 * UNIT), (2, 500_000), (1, 3 * UNIT)]) == {1: 5 * UNIT, 2: 500_000}
    assert carried_per_line([]) == {}


def test_a_shipment_plans_no_more_than_the_order_owes_less_what_other_shipments_carry():
    # 10 owed, 6 on open shipments: 4 may still be planned.
    assert over_open_refusal(1, 4 * UNIT, 10 * UNIT, 6 * UNIT) is None
    refused = over_open_refusal(1, 4_500_000, 10 * UNIT, 6 * UNIT)
    assert refused == Refusal("exceeds_open_quantity", "line 1 has 4 left to ship", {"line_no": 1, "open": "4"})
    # Shipments carrying more than is owed (the order shrank) leave nothing, never a negative quantity.
    assert over_open_refusal(2, UNIT, 3 * UNIT, 5 * UNIT).details == {"line_no": 2, "open": "0"}


def test_the_pick_list_takes_the_earliest_expiry_first_and_leaves_the_rest_for_the_next_line():
    bins = [Bin("A-1", "LATE", date(2031, 1, 1), 10 * UNIT), Bin("B-1", "SOON", date(2030, 1, 1), 3 * UNIT)]
    rows, left = pick_list(1, "JAM", bins, 5 * UNIT)
    # 3 from the lot that expires first, the other 2 from the later one; 8 of the later lot stay.
    assert [(r["location"], r["lot"], r["expiry"], r["quantity"], r["missing"]) for r in rows] == [
        ("B-1", "SOON", "2030-01-01", "3", False), ("A-1", "LATE", "2031-01-01", "2", False)]
    assert left == [Bin("A-1", "LATE", date(2031, 1, 1), 8 * UNIT)]
    rows, left = pick_list(2, "JAM", left, 9 * UNIT)
    assert [(r["line_no"], r["location"], r["quantity"], r["missing"]) for r in rows] == [
        (2, "A-1", "8", False), (2, None, "1", True)]
    assert left == []


def test_a_pick_list_row_of_stock_without_lot_or_expiry_says_none():
    rows, _ = pick_list(1, "BOLT", [Bin("C-1", "", None, 2_500_000)], 2_500_000)
    assert rows == [{"line_no": 1, "item": "BOLT", "location": "C-1", "lot": None, "expiry": None, "quantity": "2.5",
                     "missing": False}]


def test_a_line_keeps_its_reservations_in_their_bins_shrinking_from_the_bin_picked_then_the_latest_expiry():
    # Reserved FEFO: 3 in B-1 (expires first), 5 in A-1. 2 picked from A-1 and 5 still to pack: A-1 gives its 2 picked,
    # then 1 more comes off the last reserved (A-1 again), never off B-1.
    held = [Pick("B-1", "SOON", date(2030, 1, 1), 3 * UNIT), Pick("A-1", "LATE", date(2031, 1, 1), 5 * UNIT)]
    assert reservations_left(held, [("A-1", "LATE", 2 * UNIT)], 5 * UNIT) == [
        Pick("B-1", "SOON", date(2030, 1, 1), 3 * UNIT), Pick("A-1", "LATE", date(2031, 1, 1), 2 * UNIT)]
    # Picked from a bin that was not reserved (C-1): the promise shrinks from the latest expiry.
    assert reservations_left(held, [("C-1", "", 4 * UNIT)], 4 * UNIT) == [Pick("B-1", "SOON", date(2030, 1, 1), 3 * UNIT),
                                                                         Pick("A-1", "LATE", date(2031, 1, 1), UNIT)]
    # Never a new bin and never more than was held, whatever is asked to be kept.
    assert reservations_left(held, [], 20 * UNIT) == held
    assert reservations_left(held, [], 0) == []


def test_a_count_short_of_a_bin_s_reservations_cuts_the_latest_first_and_no_more_than_each_holds():
    # Reserved in this order: 3 for SHP-1, 2 for SHP-2, 1 for SHP-3. The count finds 2: 4 must give way.
    held = [Held(1, "shipment", "SHP-1", 10, 3 * UNIT), Held(2, "shipment", "SHP-2", 10, 2 * UNIT),
            Held(3, "shipment", "SHP-3", 20, UNIT)]
    assert [(h.order_code, cut) for h, cut in reservation_cuts(held, 2 * UNIT)] == [
        ("SHP-3", UNIT), ("SHP-2", 2 * UNIT), ("SHP-1", UNIT)]
    assert reservation_cuts(held, 6 * UNIT) == [], "a count that covers every promise cuts none"
    assert [cut for _, cut in reservation_cuts(held, -1)] == [UNIT, 2 * UNIT, 3 * UNIT], "nothing left: all give way"


def test_a_line_s_pick_rows_are_its_reservations_one_per_bin_and_the_rest_missing():
    held = [Pick("B-1", "SOON", date(2030, 1, 1), 2 * UNIT), Pick("A-1", "LATE", None, UNIT),
            Pick("B-1", "SOON", date(2030, 1, 1), UNIT)]
    assert merged_picks(held) == [Pick("B-1", "SOON", date(2030, 1, 1), 3 * UNIT), Pick("A-1", "LATE", None, UNIT)]
    rows = line_pick_rows(10, "JAM", held, 6 * UNIT)
    assert [(r["location"], r["quantity"], r["missing"]) for r in rows] == [
        ("B-1", "3", False), ("A-1", "1", False), (None, "2", True)]
    assert missing_by_line(rows) == {10: 2 * UNIT}
    assert [r["missing"] for r in line_pick_rows(10, "JAM", held, 4 * UNIT)] == [False, False], "held it all: not short"


def test_a_line_s_new_rows_take_the_place_of_its_old_ones_in_the_pick_list():
    rows = [{"line_no": 10, "n": "a"}, {"line_no": 20, "n": "b"}, {"line_no": 20, "n": "c"}, {"line_no": 30, "n": "d"}]
    assert [r["n"] for r in with_line_rows(rows, 20, [{"line_no": 20, "n": "x"}])] == ["a", "x", "d"]
    assert [r["n"] for r in with_line_rows(rows, 10, [])] == ["b", "c", "d"]
    assert [r["n"] for r in with_line_rows(rows, 40, [{"line_no": 40, "n": "y"}])] == ["a", "b", "c", "d", "y"]


@pytest.mark.parametrize(("status", "short", "refusal"), [
    ("planned", [10], None), ("picking", [10], None), ("planned", [], "shipment_not_short"),
    ("cancelled", [10], "shipment_cancelled"), ("delivered", [10], "shipment_delivered"),
])
def test_a_pick_list_is_replanned_while_the_shipment_is_open_and_short(status, short, refusal):
    assert code(replan_refusal(status, short)) == refusal


def test_when_an_order_line_shrinks_the_newest_shipment_gives_up_what_is_not_packed_first():
    # Newest first: SHP-2 carries 4 (1 packed), SHP-1 carries 6 (nothing packed); the line now owes 5.
    # 10 - 5 = 5 too many: SHP-2 gives its 3 unpacked (keeps 1), SHP-1 gives 2 (keeps 4).
    lines = [CarriedLine("SHP-2", 4 * UNIT, UNIT), CarriedLine("SHP-1", 6 * UNIT, 0)]
    assert cuts_to_fit(lines, 5 * UNIT) == ([Cut("SHP-2", 3 * UNIT, UNIT), Cut("SHP-1", 2 * UNIT, 4 * UNIT)], 0)


def test_what_is_packed_is_not_cut_and_is_reported_as_still_over():
    # A substituted product allows nothing: 3 unpacked come off, the 2 packed stay over.
    assert cuts_to_fit([CarriedLine("SHP-1", 5 * UNIT, 2 * UNIT)], 0) == ([Cut("SHP-1", 3 * UNIT, 2 * UNIT)], 2 * UNIT)
    assert cuts_to_fit([CarriedLine("SHP-1", 2 * UNIT, 2 * UNIT)], 0) == ([], 2 * UNIT)


def test_shipments_within_what_the_line_owes_are_not_touched():
    assert cuts_to_fit([CarriedLine("SHP-1", 4 * UNIT, 0)], 5 * UNIT) == ([], 0)


def test_a_cut_reduces_the_line_removes_it_when_nothing_is_left_and_cancels_a_shipment_left_empty():
    assert cut_effect(UNIT, 1) == "shipment_line_reduced"
    assert cut_effect(0, 1) == "shipment_line_removed"
    assert cut_effect(0, 0) == "shipment_cancelled"


# -- packing -----------------------------------------------------------------------------------------------------------
def test_a_pack_fills_the_item_s_lines_in_line_order():
    lines = [LineLeft(1, "JAM", 2 * UNIT), LineLeft(2, "TEA", 5 * UNIT), LineLeft(3, "JAM", 4 * UNIT)]
    assert spread_over_lines(lines, "JAM", 5 * UNIT) == [(1, 2 * UNIT), (3, 3 * UNIT)]
    assert spread_over_lines(lines, "JAM", UNIT) == [(1, UNIT)]


def test_a_pack_of_an_item_not_on_the_shipment_or_beyond_what_is_left_is_refused():
    lines = [LineLeft(1, "JAM", 2 * UNIT), LineLeft(3, "JAM", 4 * UNIT)]
    assert code(spread_over_lines(lines, "TEA", UNIT)) == "not_on_shipment"
    assert code(spread_over_lines(lines, "JAM", 6 * UNIT + 1)) == "exceeds_shipment"


def test_serials_are_shared_over_the_lines_a_pack_fills_in_whole_units():
    assert share_serials(["S1", "S2", "S3"], [(1, UNIT), (3, 2 * UNIT)]) == [["S1"], ["S2", "S3"]]
    assert share_serials([], [(1, 2_500_000)]) == [[]]


def test_a_pick_that_leaves_an_earlier_expiry_behind_is_a_fefo_deviation():
    usable = [Bin("A-1", "SOON", date(2030, 1, 1), UNIT), Bin("A-2", "LATE", date(2031, 1, 1), UNIT)]
    assert is_fefo_deviation("LATE", date(2031, 1, 1), usable)
    assert not is_fefo_deviation("SOON", date(2030, 1, 1), usable)


def test_the_same_lot_elsewhere_and_stock_without_expiry_are_no_fefo_deviation():
    usable = [Bin("A-1", "LOT", date(2030, 1, 1), UNIT), Bin("A-2", "NONE", None, UNIT)]
    assert not is_fefo_deviation("LOT", date(2030, 1, 1), usable)


def test_picking_a_lot_without_expiry_while_dated_stock_is_left_is_a_fefo_deviation():
    assert is_fefo_deviation("NONE", None, [Bin("A-1", "DATED", date(2099, 12, 31), UNIT)])


# -- devices -----------------------------------------------------------------------------------------------------------
def test_a_driver_signs_for_its_own_route_and_a_warehouse_device_for_its_warehouses():
    driver = Scope("NB", frozenset(), "R1")
    assert may_sign(driver, "NB", "WH1", "R1") and not may_sign(driver, "NB", "WH1", "R2")
    warehouse = Scope("NB", frozenset({"WH1"}), None)
    assert may_sign(warehouse, "NB", "WH1", "R9") and not may_sign(warehouse, "NB", "WH2", "R9")
    assert may_sign(Scope("NB", frozenset(), None), "NB", "WH2", None)
    assert not may_sign(Scope("SH", frozenset(), None), "NB", "WH1", "R1")


def test_packing_and_loading_need_the_site_the_warehouse_and_no_other_route():
    device = Scope("NB", frozenset({"WH1"}), "R1")
    assert may_handle(device, "NB", "WH1", "R1") and may_handle(device, "NB", "WH1", None)
    assert not may_handle(device, "NB", "WH1", "R2")
    assert not may_handle(device, "NB", "WH2", "R1") and not may_handle(device, "SH", "WH1", "R1")


# -- delivery ----------------------------------------------------------------------------------------------------------
def test_shortfalls_add_up_per_line_and_the_rest_of_what_was_packed_is_delivered():
    packed = {1: 10 * UNIT, 2: 4 * UNIT}
    short = shortfalls_by_line([(1, 2 * UNIT), (1, 500_000)], packed, "SHP-1")
    assert short == {1: 2_500_000}
    # Line 1: 10 - 2.5 = 7.5 delivered and 2.5 to backorder; line 2 all 4 delivered.
    assert delivery_by_line(packed, short) == {1: (7_500_000, 2_500_000), 2: (4 * UNIT, 0)}


def test_a_shortfall_on_a_line_the_shipment_lacks_or_beyond_what_it_carried_is_refused():
    packed = {1: 3 * UNIT}
    assert shortfalls_by_line([(2, UNIT)], packed, "SHP-1") == Refusal(
        "unknown_shipment_line", "Shipment SHP-1 has no line 2", {"line_no": 2, "index": 0})
    assert shortfalls_by_line([(1, 2 * UNIT), (1, 2 * UNIT)], packed, "SHP-1") == Refusal(
        "shortfall_exceeds_shipment", "Line 1 carried 3", {"line_no": 1, "index": 1})


def test_a_signature_is_kept_only_as_a_png_of_bounded_size():
    png = PNG_MAGIC + b"rest"
    assert decoded_image(None, what="signature", magic=PNG_MAGIC, limit=100) is None
    # Line breaks inside the base64 text are ignored.
    text = base64.b64encode(png).decode()
    assert decoded_image(text[:4] + "\n" + text[4:], what="signature", magic=PNG_MAGIC, limit=100) == png
    assert code(decoded_image("not base64!", what="signature", magic=PNG_MAGIC, limit=100)) == "invalid_signature"
    # 12 bytes where 11 are allowed.
    assert decoded_image(text, what="signature", magic=PNG_MAGIC, limit=11) == Refusal(
        "signature_too_large", "The signature is 12 bytes; at most 11 are kept", {"size": 12, "limit": 11})
    assert decoded_image(base64.b64encode(png).decode(), what="photo", magic=JPEG_MAGIC, limit=100) == Refusal(
        "invalid_photo", "The photo is not a JPEG image")


def test_times_in_a_proof_are_utc_and_a_naive_time_counts_as_utc():
    shanghai = timezone(timedelta(hours=8))
    assert utc_text(datetime(2030, 5, 1, 16, 30, tzinfo=shanghai)) == "2030-05-01T08:30:00+00:00"
    assert utc_text(datetime(2030, 5, 1, 8, 30)) == "2030-05-01T08:30:00+00:00"


def test_a_position_keeps_its_decimals_as_written():
    assert position_record(Decimal("31.23040000"), Decimal("121.47370000"), None) == {
        "lat": "31.23040000", "lon": "121.47370000", "accuracy_m": None}
    assert position_record(Decimal("1"), Decimal("-2.5"), Decimal("12.50"))["accuracy_m"] == "12.50"


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_unicode():
    assert canonical_json({"b": [1, None], "a": "签收"}) == '{"a":"签收","b":[1,null]}'


SIGNED_AT = datetime(2030, 5, 1, 8, 30, tzinfo=timezone.utc)


def _record(sequence: int = 1, previous_hash: str = GENESIS_HASH, photo: bytes | None = None) -> dict:
    return proof_record(
        sequence=sequence, shipment=f"SHP-{sequence}", sales_order="SO-1", signer_name="Li Wei", signed_at=SIGNED_AT,
        recorded_at=SIGNED_AT + timedelta(minutes=1), signature=b"sig", photo=photo, position=None,
        shortfalls=[(2, 500_000, "damaged"), (1, UNIT, "missing")],
        delivered=[(2, "TEA", 3_500_000), (1, "JAM", 0)], device_id="dev-1", previous_hash=previous_hash)


def test_a_proof_record_lists_shortfalls_and_deliveries_by_line_and_the_signature_by_its_digest():
    record = _record()
    assert record["shortfalls"] == [{"line_no": 1, "quantity": "1", "reason": "missing"},
                                    {"line_no": 2, "quantity": "0.5", "reason": "damaged"}]
    assert record["delivered"] == [{"line_no": 1, "item": "JAM", "quantity": "0"},
                                   {"line_no": 2, "item": "TEA", "quantity": "3.5"}]
    assert record["signature_sha256"] == hashlib.sha256(b"sig").hexdigest() and record["photo_sha256"] is None
    assert (record["signed_at"], record["recorded_at"]) == ("2030-05-01T08:30:00+00:00", "2030-05-01T08:31:00+00:00")


def test_a_proof_hashes_its_canonical_record_previous_hash_included():
    record = _record()
    text = ('{"delivered":[{"item":"JAM","line_no":1,"quantity":"0"},{"item":"TEA","line_no":2,"quantity":"3.5"}],'
            '"device_id":"dev-1","photo_sha256":null,"position":null,"previous_hash":"' + "0" * 64 + '",'
            '"recorded_at":"2030-05-01T08:31:00+00:00","sales_order":"SO-1","sequence":1,"shipment":"SHP-1",'
            '"shortfalls":[{"line_no":1,"quantity":"1","reason":"missing"},{"line_no":2,"quantity":"0.5","reason":"damaged"}],'
            '"signature_sha256":"' + hashlib.sha256(b"sig").hexdigest() + '","signed_at":"2030-05-01T08:30:00+00:00",'
            '"signer_name":"Li Wei"}')
    assert proof_hash(record) == hashlib.sha256(text.encode()).hexdigest()
    # Fields outside the record (the row's id, its stored hash) do not count.
    assert proof_hash({**record, "id": 7, "hash": "x"}) == proof_hash(record)
    assert proof_hash({**record, "previous_hash": "1" * 64}) != proof_hash(record)


def _chain(length: int) -> list[dict]:
    proofs, previous = [], GENESIS_HASH
    for sequence in range(1, length + 1):
        record = _record(sequence, previous, photo=b"photo")
        proof = {**record, "hash": proof_hash(record), "signature_bytes": b"sig", "photo_bytes": b"photo"}
        proofs.append(proof)
        previous = proof["hash"]
    return proofs


def test_an_untouched_chain_verifies_and_may_be_checked_a_page_at_a_time():
    proofs = _chain(3)
    assert first_break(proofs) is None
    assert first_break(proofs[2:], previous_hash=proofs[1]["hash"], expected_sequence=3) is None


@pytest.mark.parametrize(("tamper", "reason"), [
    (lambda p: p.update(signer_name="Someone else"), "hash_mismatch"),
    (lambda p: p.update(previous_hash="f" * 64), "previous_hash_mismatch"),
    (lambda p: p.update(signature_bytes=b"other"), "signature_mismatch"),
    (lambda p: p.update(photo_bytes=b"edited"), "photo_mismatch"),
    (lambda p: p.update(photo_sha256=hashlib.sha256(b"edited").hexdigest(), photo_bytes=b"edited"), "hash_mismatch"),
])
def test_an_edited_proof_is_the_first_break_of_the_chain(tamper, reason):
    proofs = _chain(3)
    tamper(proofs[1])
    broken = first_break(proofs)
    assert broken is not None and (broken.sequence, broken.shipment, broken.reason) == (2, "SHP-2", reason)


def test_a_proof_missing_from_the_middle_is_a_sequence_gap():
    proofs = _chain(3)
    broken = first_break([proofs[0], proofs[2]])
    assert broken is not None and (broken.sequence, broken.reason) == (3, "sequence_gap")


def test_a_stored_proof_row_reads_back_as_the_record_that_was_hashed():
    row = {"sequence": 1, "position": '{"lat": "1", "lon": "2", "accuracy_m": null}', "shortfalls": None,
           "delivered": '[{"line_no": 1}]', "signature_png": base64.b64encode(b"sig").decode(), "photo_jpeg": "%%%"}
    stored = stored_proof(row)
    assert stored["position"] == {"lat": "1", "lon": "2", "accuracy_m": None}
    assert (stored["shortfalls"], stored["delivered"]) == ([], [{"line_no": 1}])
    # A photo that no longer decodes reads as no bytes, so its digest check fails rather than the check crashing.
    assert (stored["signature_bytes"], stored["photo_bytes"]) == (b"sig", b"")
