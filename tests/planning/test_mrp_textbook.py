"""`floorsync mrp FILE` reproduces published MRP records exactly: the engine the factory's plan runs on, checked
against textbook tables through the command line of DESIGN.md section 6. Every figure below was also worked out
by hand (the comments show the arithmetic), so a test does not lean on a book's typesetting alone."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.servers import FLOORSYNC, REPO


def mrp(tmp_path: Path, problem: dict) -> dict:
    source = tmp_path / "problem.json"
    source.write_text(json.dumps(problem), encoding="utf-8")
    result = subprocess.run([FLOORSYNC, "mrp", str(source)], env=os.environ, capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    output = json.loads(result.stdout)
    assert result.returncode == (1 if "error" in output else 0), result.stderr
    return output


def item(code: str, lead_time: int = 0, on_hand: int = 0, **more) -> dict:
    return {"code": code, "lead_time": lead_time, "on_hand": on_hand, **more}


def test_the_speaker_kit_is_netted_through_every_level_as_heizer_and_render_table_14_4(tmp_path):
    """Heizer & Render, *Operations Management*, ch. 14 (MRP and ERP), the speaker kit A of Examples 1-5 and
    Table 14.4, 'Net material requirements plan for product A': 50 A in week 8; A = 2 B + 3 C, B = 2 D + 2 E,
    C = 2 E + 2 F; lead times A 1, B 2, C 1, D 1, E 2, F 3 weeks; on hand A 10, B 15, C 20, D 10, E 10, F 5.
    E has two parents (B and C), so its week-5 and week-6 needs come from different orders."""
    problem = {
        "horizon": 8,
        "items": [item("A", 1, 10), item("B", 2, 15), item("C", 1, 20), item("D", 1, 10), item("E", 2, 10),
                  item("F", 3, 5)],
        "bom": [{"parent": "A", "child": "B", "quantity": 2}, {"parent": "A", "child": "C", "quantity": 3},
                {"parent": "B", "child": "D", "quantity": 2}, {"parent": "B", "child": "E", "quantity": 2},
                {"parent": "C", "child": "E", "quantity": 2}, {"parent": "C", "child": "F", "quantity": 2}],
        "gross_requirements": {"A": {"8": 50}},
    }
    records = mrp(tmp_path, problem)["records"]
    week = lambda **figures: [figures.get(f"w{n}", 0) for n in range(1, 9)]  # noqa: E731
    # A: 50 - 10 = 40 in week 8, released in week 7
    assert records["A"]["net_requirements"] == week(w8=40)
    assert records["A"]["planned_order_releases"] == week(w7=40)
    # B: 2 x 40 = 80 in week 7, less 15 = 65, released 2 weeks before; C: 3 x 40 = 120, less 20 = 100
    assert records["B"]["gross_requirements"] == week(w7=80)
    assert records["B"]["net_requirements"] == week(w7=65)
    assert records["B"]["planned_order_releases"] == week(w5=65)
    assert records["C"]["gross_requirements"] == week(w7=120)
    assert records["C"]["planned_order_releases"] == week(w6=100)
    # D: 2 x 65 = 130 in week 5, less 10 = 120; E: 2 x 65 = 130 (week 5) less 10 and 2 x 100 = 200 (week 6)
    assert records["D"]["planned_order_releases"] == week(w4=120)
    assert records["E"]["gross_requirements"] == week(w5=130, w6=200)
    assert records["E"]["net_requirements"] == week(w5=120, w6=200)
    assert records["E"]["planned_order_releases"] == week(w3=120, w4=200)
    # F: 2 x 100 = 200 in week 6, less 5 = 195, released 3 weeks before
    assert records["F"]["net_requirements"] == week(w6=195)
    assert records["F"]["planned_order_releases"] == week(w3=195)
    assert records["E"]["projected_on_hand"] == [10, 10, 10, 10, 0, 0, 0, 0]


DARRELL_SCOTT = [35, 30, 40, 0, 10, 40, 30, 0, 30, 55]  # Heizer & Render, ch. 14, lot-sizing examples


def lot_sizing_problem(lot_size: dict) -> dict:
    return {"horizon": 10, "items": [item("P", 1, 35, lot_size=lot_size)],
            "gross_requirements": {"P": {str(n): q for n, q in enumerate(DARRELL_SCOTT, start=1) if q}}}


def test_lot_for_lot_fixed_and_period_order_quantities_are_heizer_and_renders_lot_sizing_records(tmp_path):
    """Heizer & Render, ch. 14, 'Lot-sizing techniques' (Examples 8-10): requirements 35, 30, 40, 0, 10, 40, 30,
    0, 30, 55 over ten weeks, 35 on hand, lead time 1 week. Lot-for-lot orders each net need; the EOQ of 73 used
    as a fixed order quantity orders 73 whenever the balance would go short; POQ of 3 weeks covers three weeks of
    need per order."""
    lot_for_lot = mrp(tmp_path, lot_sizing_problem({"rule": "lot_for_lot"}))["records"]["P"]
    assert lot_for_lot["planned_order_receipts"] == [0, 30, 40, 0, 10, 40, 30, 0, 30, 55]
    assert lot_for_lot["planned_order_releases"] == [30, 40, 0, 10, 40, 30, 0, 30, 55, 0]
    assert lot_for_lot["projected_on_hand"] == [0] * 10

    fixed = mrp(tmp_path, lot_sizing_problem({"rule": "fixed", "quantity": 73}))["records"]["P"]
    # 35-35=0 | 0-30 short 30: +73 = 43 | 43-40 = 3 | 3 | 3-10 short 7: +73 = 66 | 66-40 = 26 | 26-30 short 4: +73
    # = 69 | 69 | 69-30 = 39 | 39-55 short 16: +73 = 57
    assert fixed["net_requirements"] == [0, 30, 0, 0, 7, 0, 4, 0, 0, 16]
    assert fixed["planned_order_receipts"] == [0, 73, 0, 0, 73, 0, 73, 0, 0, 73]
    assert fixed["projected_on_hand"] == [0, 43, 3, 3, 66, 26, 69, 69, 39, 57]

    period = mrp(tmp_path, lot_sizing_problem({"rule": "period", "periods": 3}))["records"]["P"]
    # week 2 covers weeks 2-4: 30 + 40 + 0 = 70; week 5 covers 5-7: 10 + 40 + 30 = 80; week 9 covers 9-10: 85
    assert period["planned_order_receipts"] == [0, 70, 0, 0, 80, 0, 0, 0, 85, 0]
    assert period["planned_order_releases"] == [70, 0, 0, 80, 0, 0, 0, 85, 0, 0]
    assert period["projected_on_hand"] == [0, 40, 0, 0, 70, 30, 0, 0, 55, 0]


SEAT = {"horizon": 8, "items": [item("SEAT", 2, 37, lot_size={"rule": "fixed", "quantity": 230},
                                     scheduled_receipts={"1": 230})],
        "gross_requirements": {"SEAT": {"1": 150, "4": 120, "6": 150, "7": 120}}}


def test_a_fixed_lot_with_a_scheduled_receipt_and_safety_stock_as_krajewskis_seat_subassembly(tmp_path):
    """Krajewski, Ritzman & Malhotra, *Operations Management: Processes and Supply Chains*, ch. 'Resource
    planning': the MRP record of the seat subassembly (fixed order quantity 230, lead time 2 weeks, a scheduled
    receipt of 230 in week 1, 37 on hand), then the same record with a safety stock of 80, which moves the second
    planned receipt a week earlier."""
    record = mrp(tmp_path, SEAT)["records"]["SEAT"]
    # 37 + 230 - 150 = 117 | 117 | 117 | 117 - 120 = -3: +230 = 227 | 227 | 227 - 150 = 77 | 77 - 120 = -43:
    # +230 = 187 | 187
    assert record["projected_on_hand"] == [117, 117, 117, 227, 227, 77, 187, 187]
    assert record["planned_order_receipts"] == [0, 0, 0, 230, 0, 0, 230, 0]
    assert record["planned_order_releases"] == [0, 230, 0, 0, 230, 0, 0, 0]

    with_safety = json.loads(json.dumps(SEAT))
    with_safety["items"][0]["safety_stock"] = 80
    record = mrp(tmp_path, with_safety)["records"]["SEAT"]
    # week 4: -3 is 83 below 80: +230 = 227 | week 6: 227 - 150 = 77, 3 below 80: +230 = 307 | 307 - 120 = 187
    assert record["net_requirements"] == [0, 0, 0, 83, 0, 3, 0, 0]
    assert record["projected_on_hand"] == [117, 117, 117, 227, 227, 307, 187, 187]
    assert record["planned_order_releases"] == [0, 230, 0, 230, 0, 0, 0, 0]


def test_items_on_several_levels_are_netted_once_after_all_their_parents(tmp_path):
    """A low-level-code exercise of the MRP chapter's problems in Chase & Jacobs, *Operations and Supply Chain
    Management* (A = B + C, B = 3 D + F, C = 3 B + D + 4 E, D = E; 20 A in week 10); the book poses it without a
    solution table, so every figure below is worked by hand:
    B is needed by A (level 1) and by C (level 2), D by C and B, E by C and D, so B, D and E are each netted once
    with every parent's need in their gross requirements."""
    problem = {
        "horizon": 10,
        "items": [item("A", 2, 5, lot_size={"rule": "fixed", "quantity": 20}, scheduled_receipts={"3": 10}),
                  item("B", 2, 10, lot_size={"rule": "fixed", "quantity": 40}, scheduled_receipts={"7": 20}),
                  item("C", 1, 0), item("D", 3, 100, lot_size={"rule": "fixed", "quantity": 160}),
                  item("E", 2, 100, scheduled_receipts={"2": 60}), item("F", 2, 0, scheduled_receipts={"5": 40})],
        "bom": [{"parent": "A", "child": "B", "quantity": 1}, {"parent": "A", "child": "C", "quantity": 1},
                {"parent": "B", "child": "D", "quantity": 3}, {"parent": "B", "child": "F", "quantity": 1},
                {"parent": "C", "child": "B", "quantity": 3}, {"parent": "C", "child": "D", "quantity": 1},
                {"parent": "C", "child": "E", "quantity": 4}, {"parent": "D", "child": "E", "quantity": 1}],
        "gross_requirements": {"A": {"10": 20}},
    }
    plan = mrp(tmp_path, problem)
    assert plan["low_level_codes"] == {"A": 0, "C": 1, "B": 2, "D": 3, "F": 3, "E": 4}
    records = plan["records"]
    week = lambda **figures: [figures.get(f"w{n}", 0) for n in range(1, 11)]  # noqa: E731
    # A: 5 + 10 (week 3) = 15, week 10 short 5: one lot of 20, released week 8
    assert records["A"]["planned_order_releases"] == week(w8=20)
    # C: 20 in week 8, none on hand: released week 7
    assert records["C"]["planned_order_releases"] == week(w7=20)
    # B: 3 x 20 = 60 (week 7, from C) and 20 (week 8, from A); 10 + 20 - 60 = -30: a lot of 40 leaves 10;
    # 10 - 20 = -10: another lot of 40 leaves 30
    assert records["B"]["gross_requirements"] == week(w7=60, w8=20)
    assert records["B"]["projected_on_hand"] == week(w1=10, w2=10, w3=10, w4=10, w5=10, w6=10, w7=10, w8=30,
                                                     w9=30, w10=30)
    assert records["B"]["planned_order_releases"] == week(w5=40, w6=40)
    # D: 3 x 40 (weeks 5 and 6, from B) and 20 (week 7, from C); 100 - 120 = -20: a lot of 160 (released week 2)
    # leaves 140, then 20, then 0
    assert records["D"]["gross_requirements"] == week(w5=120, w6=120, w7=20)
    assert records["D"]["planned_order_releases"] == week(w2=160)
    # F: 40 a week in weeks 5 and 6; the 40 due in week 5 covers the first
    assert records["F"]["planned_order_releases"] == week(w4=40)
    # E: 160 in week 2 (from D's release) and 4 x 20 = 80 in week 7 (from C); 100 + 60 - 160 = 0, then short 80
    assert records["E"]["gross_requirements"] == week(w2=160, w7=80)
    assert records["E"]["planned_order_releases"] == week(w5=80)
    # A's 10 due in week 3 are not needed before week 10 (5 on hand last until then): defer; every other scheduled
    # receipt arrives in the week it is first needed
    assert [(e["item"], e["code"], e["period"]) for e in plan["exceptions"]] == [("A", "defer", 10)]
