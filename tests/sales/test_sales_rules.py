"""The sales order rules on their own, values in and decisions out (no server, no database): the lifecycle and its
refusals, what a line and an order are worth, the review on submission and who may approve past it, the status
downstream work puts an approved order in, the history of changes and the risk of missing a promise date. Every
figure is worked out by hand in the test."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from server.document_rules import self_approval_refusal
from server.i18n import Message
from server.sales import rules
from server.sales.rules import DownstreamFacts, LineProgress, PricedLine

UNIT = 1_000_000  # micro units in one unit


def lines(*shipped_of_ordered: tuple[int, int]) -> list[LineProgress]:
    """Lines as (ordered, shipped) in whole units."""
    return [LineProgress(ordered * UNIT, shipped * UNIT) for ordered, shipped in shipped_of_ordered]


# -- the lifecycle -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("current", "target"), [
    ("draft", "submitted"), ("draft", "cancelled"),
    ("submitted", "approved"), ("submitted", "on_hold"), ("submitted", "draft"), ("submitted", "cancelled"),
    ("on_hold", "submitted"), ("on_hold", "approved"), ("on_hold", "shipped"), ("on_hold", "draft"),
    ("approved", "in_production"), ("in_production", "ready"), ("ready", "shipped"), ("shipped", "delivered"),
    ("ready", "in_production"), ("approved", "on_hold"), ("ready", "cancelled"), ("shipped", "closed"),
    ("delivered", "closed"),
])
def test_an_order_moves_along_its_lifecycle(current, target):
    assert rules.transition_refusal(current, target) is None


@pytest.mark.parametrize(("current", "target", "code"), [
    ("draft", "approved", "sales_order_not_submitted"),
    ("draft", "closed", "sales_order_not_submitted"),
    ("shipped", "cancelled", "sales_order_has_deliveries"),
    ("delivered", "cancelled", "sales_order_has_deliveries"),
    ("delivered", "shipped", "invalid_transition"),
    ("submitted", "shipped", "invalid_transition"),
    ("on_hold", "delivered", "invalid_transition"),
    ("closed", "approved", "sales_order_closed"),
    ("closed", "cancelled", "sales_order_closed"),
    ("cancelled", "draft", "sales_order_cancelled"),
])
def test_a_move_the_lifecycle_does_not_allow_is_refused_with_its_reason(current, target, code):
    assert rules.transition_refusal(current, target).code == code


def test_a_refused_move_says_in_words_what_the_order_is():
    assert rules.transition_refusal("on_hold", "delivered").message == "A sales order that is on_hold cannot become delivered"
    assert rules.transition_refusal("shipped", "cancelled").message == "Goods left for this order: close it instead"
    assert rules.transition_refusal("closed", "shipped").message == "The sales order is closed"


def test_closed_and_cancelled_are_final_and_delivered_can_only_close():
    assert rules.TRANSITIONS["closed"] == frozenset() and rules.TRANSITIONS["cancelled"] == frozenset()
    assert rules.TRANSITIONS["delivered"] == frozenset({"closed"})
    assert set(rules.TRANSITIONS) == set(rules.SO_STATUSES)


@pytest.mark.parametrize("status", ["approved", "in_production", "ready", "shipped"])
def test_shipments_are_planned_from_an_approved_order_still_under_way(status):
    assert rules.shipment_refusal(status) is None


@pytest.mark.parametrize(("status", "code", "message"), [
    ("draft", "sales_order_not_approved", "The sales order is draft: it must be approved first"),
    ("submitted", "sales_order_not_approved", "The sales order is submitted: it must be approved first"),
    ("on_hold", "sales_order_not_approved", "The sales order is on hold: it must be approved first"),
    ("delivered", "sales_order_delivered", "Everything on this order was delivered"),
    ("closed", "sales_order_closed", "The sales order is closed"),
    ("cancelled", "sales_order_cancelled", "The sales order is cancelled"),
])
def test_no_shipment_is_planned_from_an_order_not_approved_or_already_done(status, code, message):
    refusal = rules.shipment_refusal(status)
    assert (refusal.code, refusal.message) == (code, message)


# -- what an order is worth ----------------------------------------------------------------------------------------

def test_a_lines_value_is_quantity_times_price_less_its_discount_to_the_cent():
    # 3 × 19.99 = 59.97; less 10 % = 53.973 → 53.97
    assert rules.line_value(3 * UNIT, Decimal("19.99"), Decimal(10)) == Decimal("53.97")
    # 1.5 × 10.01 = 15.015; less 12.5 % = 13.138125 → 13.14
    assert rules.line_value(1_500_000, Decimal("10.01"), Decimal("12.5")) == Decimal("13.14")
    # 2.5 × 0.03 = 0.075: half a cent rounds up → 0.08
    assert rules.line_value(2_500_000, Decimal("0.03"), Decimal(0)) == Decimal("0.08")
    # 0.000001 × 100 = 0.0001 → 0.00; a full discount is worth nothing
    assert rules.line_value(1, Decimal(100), Decimal(0)) == Decimal("0.00")
    assert rules.line_value(4 * UNIT, Decimal(25), Decimal(100)) == Decimal("0.00")


def test_a_line_owes_what_was_ordered_less_what_was_shipped_never_less_than_nothing():
    assert rules.open_micro(LineProgress(5 * UNIT, 2 * UNIT)) == 3 * UNIT
    assert rules.open_micro(LineProgress(5 * UNIT, 5 * UNIT)) == 0
    assert rules.open_micro(LineProgress(5 * UNIT, 6 * UNIT)) == 0


def test_a_delivery_pays_off_the_old_backorder_first_and_its_shortfall_is_owed_on_top():
    # 3 owed from before, 5 delivered now (pays the 3 off), 2 short this time → 2
    assert rules.backorder_after_delivery(3 * UNIT, 5 * UNIT, 2 * UNIT) == 2 * UNIT
    # 10 owed, 4 delivered → 6 still owed, plus 1 short → 7
    assert rules.backorder_after_delivery(10 * UNIT, 4 * UNIT, 1 * UNIT) == 7 * UNIT
    assert rules.backorder_after_delivery(0, 4 * UNIT, 0) == 0


def test_exposure_is_what_the_order_is_worth_less_what_was_paid():
    chairs = [PricedLine(10 * UNIT, 4 * UNIT, Decimal("120.00"), Decimal(0)),   # 10 × 120 = 1200; 4 shipped = 480
              PricedLine(2 * UNIT, 0, Decimal("50.00"), Decimal(20))]           # 2 × 50 = 100, less 20 % = 80
    assert rules.exposure_of("approved", chairs, Decimal(0)) == Decimal("1280.00")
    assert rules.exposure_of("shipped", chairs, Decimal("300")) == Decimal("980.00")
    # A closed order is worth what was delivered: 480 + 0
    assert rules.exposure_of("closed", chairs, Decimal(0)) == Decimal("480.00")
    assert rules.exposure_of("closed", chairs, Decimal("500")) == Decimal(0)  # overpaid owes nothing, not −20
    assert rules.exposure_of("draft", chairs, Decimal(0)) == Decimal(0)
    assert rules.exposure_of("cancelled", chairs, Decimal(0)) == Decimal(0)


def test_numbers_read_back_from_the_database_are_written_as_people_write_them():
    assert rules.plain(Decimal("50000.0000")) == "50000"
    assert rules.plain(Decimal("12.5000")) == "12.5"
    assert rules.plain(Decimal("100")) == "100"
    assert rules.plain(Decimal("0.0100")) == "0.01"


# -- the review on submission --------------------------------------------------------------------------------------

def test_the_credit_check_passes_up_to_the_limit_itself():
    # 30000 already owed + 20000 for this order = 50000, exactly the limit
    result = rules.credit_check(Decimal("50000.0000"), Decimal("30000"), Decimal("20000.00"), "CNY")
    assert (result.check, result.passed, result.code) == ("credit", True, "credit_ok")
    assert result.message == "Exposure 50000 CNY is within the limit of 50000"
    assert result.details == {"credit_limit": "50000", "exposure": "30000", "order_value": "20000",
                              "exposure_after": "50000", "currency": "CNY"}


def test_the_credit_check_fails_past_the_limit_and_says_by_how_much():
    # 30000 + 20000.50 = 50000.50, over 50000 by 0.50
    result = rules.credit_check(Decimal(50000), Decimal(30000), Decimal("20000.50"), "CNY")
    assert (result.passed, result.code) == (False, "credit_limit_exceeded")
    assert result.message == "Exposure would be 50000.5 CNY, over the credit limit of 50000 by 0.5"
    assert result.details["exposure_after"] == "50000.5"


def test_discounts_above_the_threshold_are_listed_by_line_and_one_at_the_threshold_passes():
    result = rules.discount_check({30: Decimal("12.5"), 10: Decimal(10), 20: Decimal("15.00")}, Decimal("10.0000"))
    assert (result.check, result.passed, result.code) == ("discount", False, "discount_above_threshold")
    assert result.message == "Discount above 10 % on line 20 (15 %), line 30 (12.5 %)"
    assert rules.check_message("zh", result.code, result.details) == "折扣超过 10 %：第 20 行（15 %），第 30 行（12.5 %）"
    assert result.details == {"max_discount_pct": "10", "lines": {"20": "15", "30": "12.5"}}
    clean = rules.discount_check({10: Decimal(10)}, Decimal(10))
    assert (clean.passed, clean.code, clean.message) == (True, "discount_ok", "No discount above 10 %")
    assert clean.as_dict() == {"check": "discount", "passed": True, "code": "discount_ok",
                               "message": "No discount above 10 %", "details": {"max_discount_pct": "10", "lines": {}}}


def _check(check: str, passed: bool) -> rules.CheckResult:
    return rules.CheckResult(check, passed, "code", "message")


def test_a_self_approval_refusal_keeps_its_limits_as_messages_said_in_either_language():
    beyond = [Message("refusal.order_value_above", {"value": "1280", "currency": "CNY", "limit": "1000"}),
              Message("refusal.discount_above", {"discount": "60", "limit": "20"})]
    refusal = self_approval_refusal("manager", ["manager"], beyond)
    assert refusal.message == ("The order is worth 1280 CNY, more than 1000; A line is discounted 60 %, more than 20 %: "
                               "someone other than who entered or submitted it approves it")
    assert refusal.text.text("zh") == "订单金额 1280 CNY，超过 1000；有一行折扣 60 %，超过 20 %：须由录入或提交人以外的人审批"
    assert refusal.details["beyond"][0] == "The order is worth 1280 CNY, more than 1000"
    assert self_approval_refusal("admin", ["manager"], beyond) is None


def test_a_stored_check_is_said_from_its_code_and_details_in_the_readers_language():
    held = rules.credit_check(Decimal(50000), Decimal(30000), Decimal("20000.50"), "CNY").as_dict()
    assert rules.check_message("zh", held["code"], held["details"]) == "信用占用将达 50000.5 CNY，超过信用额度 50000，超出 0.5"
    breaches = {"contract": "K-1", "breaches": [
        {"code": "item_not_on_contract", "line_no": 10, "item": "CH-TASK"},
        {"code": "below_agreed_price", "line_no": 20, "item": "CH-ERGO", "net_price": "90", "agreed_price": "100"}]}
    assert rules.check_message("en", "contract_violated", breaches) == (
        "Contract K-1: line 10: CH-TASK is not on the contract; line 20: CH-ERGO at 90, below the agreed 100")
    assert rules.check_message("zh", "contract_violated", breaches) == (
        "合同 K-1：第 10 行：CH-TASK 不在合同内；第 20 行：CH-ERGO 净价 90，低于约定价 100")


def test_a_failed_credit_check_holds_the_order_whatever_else_failed():
    results = [_check("credit", False), _check("discount", False)]
    assert rules.review_outcome(results, auto_approve=True) == ("on_hold", "credit")


def test_other_failures_wait_for_an_approver_and_a_clean_review_approves_only_when_the_policy_says_so():
    assert rules.review_outcome([_check("credit", True), _check("discount", False), _check("contract", False)],
                                auto_approve=True) == ("submitted", "discount, contract")
    assert rules.review_outcome([_check("credit", True), _check("discount", True)], auto_approve=True) == ("approved", "")
    assert rules.review_outcome([_check("credit", True)], auto_approve=False) == ("submitted", "")
    assert rules.review_outcome([], auto_approve=True) == ("approved", "")


APPROVERS = {"credit": ["finance"], "discount": ["sales_manager", "finance"]}
DEFAULT_APPROVERS = ["sales_manager"]


def test_an_approver_needs_a_named_role_for_every_failed_check():
    assert rules.approval_refusal(["discount"], ["sales_manager"], APPROVERS, DEFAULT_APPROVERS) is None
    assert rules.approval_refusal(["credit", "discount"], ["finance"], APPROVERS, DEFAULT_APPROVERS) is None
    refusal = rules.approval_refusal(["discount", "credit"], ["sales_manager"], APPROVERS, DEFAULT_APPROVERS)
    assert refusal.code == "approver_role_required"
    assert refusal.message == "Approving past the credit check needs one of these roles: finance"
    assert refusal.details == {"check": "credit", "roles": ["finance"]}


def test_admin_approves_anything():
    assert rules.approval_refusal(["credit", "discount"], ["admin"], APPROVERS, DEFAULT_APPROVERS) is None
    assert rules.approval_refusal(["credit"], ["admin"], {"credit": []}, []) is None


def test_with_no_failed_check_or_a_check_the_policy_does_not_name_the_default_approvers_apply():
    assert rules.approval_refusal([], ["sales_manager"], APPROVERS, DEFAULT_APPROVERS) is None
    review = rules.approval_refusal([], ["finance"], APPROVERS, DEFAULT_APPROVERS)
    assert (review.code, review.details) == ("approver_role_required", {"check": "review", "roles": ["sales_manager"]})
    contract = rules.approval_refusal(["contract"], ["finance"], APPROVERS, DEFAULT_APPROVERS)
    assert contract.details == {"check": "contract", "roles": ["sales_manager"]}
    nobody = rules.approval_refusal([], ["sales"], APPROVERS, [])
    assert nobody.message == "Approving past the review check needs one of these roles: admin"


# -- progress once approved ----------------------------------------------------------------------------------------

def test_an_order_with_nothing_done_for_it_stays_approved():
    assert rules.progress_status(DownstreamFacts(lines((5, 0), (3, 0)))) == "approved"
    assert rules.progress_status(DownstreamFacts([])) == "approved"


def test_a_running_production_order_puts_it_in_production_until_everything_owed_is_covered():
    # 5 + 3 = 8 owed, 7 covered: not ready yet
    assert rules.progress_status(DownstreamFacts(lines((5, 0), (3, 0)), covered_micro=7 * UNIT, in_production=True)) \
        == "in_production"
    assert rules.progress_status(DownstreamFacts(lines((5, 0), (3, 0)), covered_micro=8 * UNIT, in_production=True)) \
        == "ready"
    assert rules.progress_status(DownstreamFacts(lines((5, 0), (3, 0)), covered_micro=9 * UNIT)) == "ready"
    assert rules.progress_status(DownstreamFacts(lines((5, 0), (3, 0)), covered_micro=7 * UNIT)) == "approved"


def test_goods_on_their_way_or_delivered_in_part_make_it_shipped():
    assert rules.progress_status(DownstreamFacts(lines((5, 0)), covered_micro=5 * UNIT, on_its_way=True)) == "shipped"
    assert rules.progress_status(DownstreamFacts(lines((5, 2), (3, 0)), covered_micro=6 * UNIT)) == "shipped"


def test_nothing_owed_is_delivered_even_with_a_shipment_still_loaded():
    assert rules.progress_status(DownstreamFacts(lines((5, 5), (3, 4)))) == "delivered"
    assert rules.progress_status(DownstreamFacts(lines((5, 5)), on_its_way=True, in_production=True)) == "delivered"


@pytest.mark.parametrize("held", ["closed", "cancelled", "on_hold"])
def test_a_signature_neither_reopens_an_ended_order_nor_releases_a_hold(held):
    assert rules.status_after_delivery(held, DownstreamFacts(lines((5, 5)))) == held


def test_a_signature_moves_an_order_under_way_on():
    assert rules.status_after_delivery("shipped", DownstreamFacts(lines((5, 5)))) == "delivered"
    assert rules.status_after_delivery("shipped", DownstreamFacts(lines((5, 3)))) == "shipped"
    assert rules.status_after_delivery("ready", DownstreamFacts(lines((5, 0)), covered_micro=5 * UNIT)) == "ready"


# -- history -----------------------------------------------------------------------------------------------------------

def test_the_changes_between_two_versions_list_fields_then_lines_by_number():
    stool = {"line_no": 20, "item": "STOOL", "quantity": "1"}
    lamp = {"line_no": 30, "item": "LAMP", "quantity": "2"}
    before = {"code": "SO-1", "due_date": "2026-05-01", "version": 1, "updated_at": "t1",
              "lines": [{"line_no": 10, "item": "CHAIR", "quantity": "5", "unit_price": "120"}, stool]}
    after = {"code": "SO-1", "due_date": "2026-05-15", "version": 2, "updated_at": "t2", "note": "rush",
             "lines": [{"line_no": 10, "item": "CHAIR", "quantity": "8", "unit_price": "120"}, lamp]}
    assert rules.order_changes(before, after) == [
        {"field": "due_date", "before": "2026-05-01", "after": "2026-05-15"},
        {"field": "note", "before": None, "after": "rush"},
        {"field": "lines[10].quantity", "before": "5", "after": "8"},
        {"field": "lines[20]", "before": stool, "after": None},
        {"field": "lines[30]", "before": None, "after": lamp},
    ]


def test_the_first_version_lists_every_field_and_line_and_an_unchanged_order_nothing():
    chair = {"line_no": 10, "item": "CHAIR", "quantity": "5"}
    order = {"code": "SO-1", "customer": "C-1", "version": 1, "updated_at": "t1", "lines": [chair]}
    assert rules.order_changes(None, order) == [
        {"field": "code", "before": None, "after": "SO-1"},
        {"field": "customer", "before": None, "after": "C-1"},
        {"field": "lines[10]", "before": None, "after": chair},
    ]
    assert rules.order_changes(order, {**order, "version": 2, "updated_at": "t2"}) == []


# -- tracking ----------------------------------------------------------------------------------------------------------

TODAY = date(2026, 3, 10)


def _risk(*args) -> tuple[str, str, str]:
    """The verdict, its reason in English (the API's words) and in Chinese (a page's)."""
    risk, reason = rules.line_risk(*args)
    return (risk, reason.english(), reason.text("zh")) if reason else (risk, "", "")


def test_a_line_is_late_once_its_promise_passed_with_something_still_owed():
    assert _risk(TODAY, date(2026, 3, 8), 1, 1, 0) == ("late", "2 day(s) past 2026-03-08", "已超过承诺日期 2026-03-08 2 天")
    assert _risk(TODAY, date(2026, 3, 8), 0, 0, 0) == ("delivered", "", "")


def test_a_line_not_covered_with_fewer_days_left_than_its_lead_time_is_at_risk():
    # promise 13 March: 3 days left, 5 needed
    assert _risk(TODAY, date(2026, 3, 13), 4, 3, 5)[:2] == ("at_risk", "3 day(s) left, 5 needed, and not covered yet")
    assert _risk(TODAY, date(2026, 3, 13), 4, 3, 5)[2] == "剩余 3 天，需要 5 天，尚未覆盖"
    assert _risk(TODAY, date(2026, 3, 15), 4, 3, 5)[:2] == ("on_track", "5 day(s) left, 5 needed")
    assert _risk(TODAY, date(2026, 3, 13), 4, 4, 5)[:2] == ("on_track", "covered by shipments, reservations or production")
    assert _risk(TODAY, TODAY, 4, 0, 0)[:2] == ("on_track", "0 day(s) left, 0 needed")


def test_an_orders_risk_is_its_worst_lines():
    assert rules.worst(["on_track", "late", "at_risk", "delivered"]) == "late"
    assert rules.worst(["delivered", "on_track"]) == "on_track"
    assert rules.worst([]) == "delivered"
