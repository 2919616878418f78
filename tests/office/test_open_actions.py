"""Which actions a document leaves open to whom, as values in and action names out: the rules the office pages and
the API's `open_actions` both come from."""

from server.accounts.permissions import ROLE_PERMISSIONS, Role
from server.production import rules as production
from server.purchasing import rules as purchasing
from server.sales import rules as sales

CLERK = ROLE_PERMISSIONS[Role.sales]
MANAGER = ROLE_PERMISSIONS[Role.sales_manager]
VIEWER = ROLE_PERMISSIONS[Role.viewer]
ADMIN = ROLE_PERMISSIONS[Role.admin]


def test_a_draft_order_is_submitted_edited_or_cancelled_and_takes_no_payment():
    assert sales.open_actions("draft", False, CLERK) == ["submit", "cancel", "edit"]


def test_an_order_awaiting_approval_is_decided_by_an_approver_not_by_the_clerk():
    assert sales.open_actions("submitted", True, CLERK) == ["hold", "cancel", "change", "pay"]
    assert sales.open_actions("submitted", True, MANAGER) == ["approve", "reject", "hold", "cancel", "change", "pay"]


def test_a_credit_hold_is_released_by_approving_but_a_hold_by_hand_by_releasing():
    assert "release" not in sales.open_actions("on_hold", True, MANAGER)
    assert sales.open_actions("on_hold", False, CLERK) == ["release", "cancel", "change", "pay"]


def test_an_approved_order_is_shipped_by_logistics_and_paid_by_sales():
    assert sales.open_actions("approved", False, CLERK) == ["hold", "cancel", "close", "change", "pay"]
    assert sales.open_actions("approved", False, ROLE_PERMISSIONS[Role.logistics]) == ["ship"]
    assert sales.open_actions("approved", False, ADMIN) == ["hold", "cancel", "close", "change", "pay", "ship"]


def test_goods_left_so_a_shipped_order_is_closed_not_cancelled():
    assert sales.open_actions("shipped", False, CLERK) == ["hold", "close", "change", "pay"]
    assert sales.open_actions("delivered", False, CLERK) == ["close", "pay"]


def test_closed_and_cancelled_orders_are_done_and_a_reader_may_do_nothing():
    assert sales.open_actions("closed", False, ADMIN) == ["pay"]
    assert sales.open_actions("cancelled", False, ADMIN) == []
    assert sales.open_actions("approved", False, VIEWER) == []


def test_payment_is_refused_for_drafts_and_cancelled_orders_only():
    assert sales.payment_refusal("draft").code == "sales_order_not_payable"
    assert sales.payment_refusal("cancelled").code == "sales_order_not_payable"
    assert sales.payment_refusal("shipped") is None


def test_a_quote_moves_from_draft_through_approval_to_an_order():
    assert sales.quote_open_actions("draft", CLERK) == ["submit", "edit"]
    assert sales.quote_open_actions("submitted", CLERK) == []
    assert sales.quote_open_actions("submitted", MANAGER) == ["approve", "reject"]
    assert sales.quote_open_actions("rejected", CLERK) == ["edit"]
    assert sales.quote_open_actions("approved", CLERK) == ["convert"]
    assert sales.quote_open_actions("converted", ADMIN) == sales.quote_open_actions("expired", ADMIN) == []


def test_a_production_order_is_released_then_booked_on_until_closed():
    planner = ROLE_PERMISSIONS[Role.planner]
    assert production.open_actions("draft", planner) == ["release", "cancel"]
    assert production.open_actions("released", planner) == ["cancel", "close", "issue", "report"]
    assert production.open_actions("completed", planner) == ["close", "issue", "report"]
    assert production.open_actions("closed", planner) == []
    assert production.open_actions("released", VIEWER) == []


def test_a_purchase_order_is_approved_and_edited_only_as_a_draft_by_the_buyer():
    buyer = ROLE_PERMISSIONS[Role.buyer]
    assert purchasing.open_actions("draft", buyer) == ["approve", "cancel", "edit"]
    assert purchasing.open_actions("partially_received", buyer) == ["close"]
    assert purchasing.open_actions("received", buyer) == ["close"]
    assert purchasing.open_actions("cancelled", buyer) == []
    assert purchasing.open_actions("draft", VIEWER) == []
