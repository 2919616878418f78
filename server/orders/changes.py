"""Changing a submitted or approved sales order: quantities, dates, a substitute product, lines added, the delivery
address. A change is previewed first — the same code runs inside a transaction that the entry point then rolls
back, so the preview shows exactly what the change will do — and then made: the order's new version is kept with who, when, why
and what changed, and the change propagates downstream in the same transaction (open shipments shrink or are
cancelled, reservations follow, linked production orders are flagged for review, a credit check reruns when the
order grows)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT

from schemas.sales import ChangeImpact, Impact, OrderChangeIn
from server.actors import Who
from server.db import current_write
from server.document_rules import LINE_STEP, Problem, Refusal
from server.documents import audit_change, item_units, line_problems, refuse_problems, utc_now
from server.errors import ApiError
from server.inventory.availability import release_reservations, reserve
from server.quantities import quantity_text, to_micro
from server.inventory.tables import Reservation
from server.masterdata.tables import Customer
from server.orders import cascade
from server.planning import promising
from server.production import rules as production_rules
from server.production.tables import ProductionOrder
from server.sales import rules, service
from server.sales.pricing import price_lists
from server.sales.tables import SalesOrder, SalesOrderLine
from server.shipping import planning as shipping

NOT_EVALUATED = ["purchase_suggestions: MRP is not built yet"]


async def make_change(code: str, data: OrderChangeIn, who: Who) -> ChangeImpact:
    """The change, refused whole (409 `change_blocked`) when part of it cannot be made, such as taking off a
    shipment what is already packed: the error rolls the caller's transaction back."""
    impact = await change_order(code, data, who)
    if impact.blocked:
        blocked = [i for i in impact.impacts if i.effect.startswith("blocked")]
        raise ApiError(HTTP_409_CONFLICT, "change_blocked",
                       "Part of this change cannot be made: " + "; ".join(_blocked_text(i) for i in blocked),
                       {"entity": service.ENTITY, "key": code, "impacts": [i.model_dump(mode="json") for i in blocked]})
    return impact


async def cancel_order(code: str, version: int | None, reason: str, who: Who) -> ChangeImpact:
    """Cancel the order and say what that did downstream (shipments, reservations, production), as a change's impact.
    A preview runs it in a transaction the entry point rolls back; a cancel that would be refused is refused there
    the same way."""
    before, after, impacts = await cascade.cancel_sales_order(code, who, version, reason)
    return ChangeImpact(
        order=code, applied=True, blocked=False,
        changes=rules.order_changes(before.model_dump(mode="json"), after.model_dump(mode="json")),
        impacts=[Impact(**i) for i in impacts], not_evaluated=NOT_EVALUATED, after=after)


def _blocked_text(impact: Impact) -> str:
    return (f"line {impact.line_no} is packed on {impact.key} beyond the new quantity by {impact.details.get('over_by')}: "
            "unpack it first")


def _problems(data: OrderChangeIn, lines: dict[int, dict[str, Any]], items: dict[str, dict[str, Any]],
              today: Any) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[int] = set()
    for index, change in enumerate(data.lines):
        where = f"lines[{index}]"
        line = lines.get(change.line_no)
        if change.line_no in seen:
            problems.append((f"{where}.line_no", "duplicate_line", f"line {change.line_no} appears twice"))
        seen.add(change.line_no)
        if line is None:
            problems.append((f"{where}.line_no", "unknown_sales_order_line", f"the order has no line {change.line_no}"))
            continue
        if change.quantity is not None and to_micro(change.quantity) < line["shipped_quantity_micro"]:
            problems.append((f"{where}.quantity", "quantity_below_delivered",
                             f"line {change.line_no} already delivered {quantity_text(line['shipped_quantity_micro'])}"))
        if change.item is not None and change.item != line["item"]:
            if line["shipped_quantity_micro"]:
                problems.append((f"{where}.item", "substitute_after_delivery",
                                 f"line {change.line_no} was partly delivered: add a line for the substitute instead"))
            item = items.get(change.item)
            if item is None or item["archived"]:
                problems.append((f"{where}.item", "unknown_item" if item is None else "archived_item",
                                 f"no active item with code {change.item!r}"))
        for name in ("due_date", "promised_date"):
            value = getattr(change, name)
            if value is not None and value < today:
                problems.append((f"{where}.{name}", f"{name}_in_past", f"{name.replace('_', ' ')} {value} is before today"))
    for index, line in enumerate(data.add_lines):
        values = line.model_dump(mode="python")
        problems += [(f"add_{field}", code, message)
                     for field, code, message in line_problems(index, values, items.get(line.item), today=today)]
        if line.line_no is not None and line.line_no in lines:
            problems.append((f"add_lines[{index}].line_no", "duplicate_line", f"line {line.line_no} exists already"))
    return problems


async def change_order(code: str, data: OrderChangeIn, who: Who) -> ChangeImpact:
    """The change and all it does downstream, in the caller's transaction, with what it did. A preview is this run
    in a transaction the entry point rolls back, so it shows exactly what the change will do."""
    current_write()  # inside the entry point's transaction, or not at all
    row, line_rows, before = await service.lock_order(code, data.version)
    if row["status"] not in rules.CHANGEABLE:
        raise service.SALES_ORDERS.state_conflict(code, Refusal(
            "sales_order_not_changeable",
            f"A {row['status'].replace('_', ' ')} sales order is not changed this way"
            + (": edit the draft" if row["status"] == rules.DRAFT else "")), row["status"])
    lines = {line["line_no"]: line for line in line_rows}
    today = utc_now().date()
    items = await item_units([c.item for c in data.lines if c.item] + [line.item for line in data.add_lines])
    refuse_problems(_problems(data, lines, items, today))

    customer = await Customer.select().where(Customer.code == row["customer"]).first()
    touched: dict[int, bool] = {}  # line number -> its product was substituted
    redated: set[int] = set()
    for change in data.lines:
        line = lines[change.line_no]
        columns: dict[Any, Any] = {}
        if change.quantity is not None and to_micro(change.quantity) != line["quantity_micro"]:
            quantity = to_micro(change.quantity)
            open_after = quantity - line["shipped_quantity_micro"]
            columns |= {SalesOrderLine.quantity_micro: quantity,
                        SalesOrderLine.backorder_quantity_micro: min(line["backorder_quantity_micro"], open_after)}
            touched.setdefault(change.line_no, False)
        if change.item is not None and change.item != line["item"]:
            # Another product is priced like a new line: the old one's price and discount were for the old one.
            quantity = columns.get(SalesOrderLine.quantity_micro, line["quantity_micro"])
            priced = (await price_lists.price_lines(customer, row["contract"], [
                {"item": change.item, "quantity": Decimal(quantity_text(quantity))}], today, required=False))[0]
            columns |= {SalesOrderLine.item: change.item, SalesOrderLine.unit_price: priced["unit_price"],
                        SalesOrderLine.discount_pct: priced["discount_pct"]}
            touched[change.line_no] = True
        for name in ("due_date", "promised_date"):
            if getattr(change, name) is not None:
                columns[getattr(SalesOrderLine, name)] = getattr(change, name)
                redated.add(change.line_no)
        if columns:
            await SalesOrderLine.update(columns).where(SalesOrderLine.id == line["id"])
    next_no = (max(lines, default=0) // LINE_STEP + 1) * LINE_STEP
    added = []
    for line in data.add_lines:
        values = line.model_dump(mode="python")
        if values["line_no"] is None:
            values["line_no"], next_no = next_no, next_no + LINE_STEP
        added.append(values)
    if added:
        # Added lines are priced like a new order's: the contract's or the price list's price when none was sent.
        added = await price_lists.price_lines(customer, row["contract"], added, today, required=False)
        await SalesOrderLine.insert(*service.line_rows(row["id"], added))
    header: dict[Any, Any] = {}
    if data.delivery_address is not None:
        header[SalesOrder.delivery_address] = data.delivery_address
    if data.customer_reference is not None:
        header[SalesOrder.customer_reference] = data.customer_reference
    await service.SALES_ORDERS.bump(row, header)

    impacts: list[dict[str, Any]] = []
    for line_no, substituted in sorted(touched.items()):
        line = (await SalesOrderLine.select().where(
            (SalesOrderLine.sales_order == row["id"]) & (SalesOrderLine.line_no == line_no)).first())
        open_micro = line["quantity_micro"] - line["shipped_quantity_micro"]
        impacts += await shipping.fit_to_order_line(code, line_no, open_micro, substituted=substituted, who=who,
                                                    reason=data.reason)
        impacts += await _fit_reservations(code, line, open_micro, substituted)
        impacts += await _production_to_review(code, line, lines[line_no])

    changed = await service.get_sales_order(code)
    impacts += await _credit_recheck(code, before.value, changed.value, row["customer"])
    if added or any(touched.values()):
        impacts += await _price_recheck(code)
    impacts += await _promise_recheck(code, set(touched) | redated | {line["line_no"] for line in added})
    changed = await service.get_sales_order(code)
    await service.write_revision(row["id"], "change", who, before, changed, data.reason)
    await audit_change(who, "change", service.ENTITY, code, before, changed, data.reason)
    if changed.status in rules.UNDER_WAY:
        status = await service.refresh_progress(code)
        if status != changed.status:
            impacts.append({"kind": "status", "key": code, "line_no": None, "effect": "status_changed",
                            "details": {"from": changed.status, "to": status}})
    after = await service.get_sales_order(code)
    return ChangeImpact(
        order=code, applied=True, blocked=any(i["effect"].startswith("blocked") for i in impacts),
        changes=rules.order_changes(before.model_dump(mode="json"), after.model_dump(mode="json")),
        impacts=[Impact(**i) for i in impacts], not_evaluated=NOT_EVALUATED, after=after,
    )


async def _fit_reservations(code: str, line: dict[str, Any], open_micro: int, substituted: bool) -> list[dict[str, Any]]:
    """Stock reserved for the line itself: no more than it still owes, and none of the old product after a
    substitution."""
    rows = await Reservation.select(Reservation.quantity_micro, Reservation.item).where(
        (Reservation.order_kind == service.ENTITY) & (Reservation.order_code == code)
        & (Reservation.line_no == line["line_no"]) & Reservation.released_at.is_null())
    reserved = sum(r["quantity_micro"] for r in rows)
    if not reserved or (not substituted and reserved <= open_micro):
        return []
    await release_reservations(service.ENTITY, code, line["line_no"])
    kept = 0 if substituted else open_micro
    if kept:
        await reserve(rows[0]["item"], kept, service.ENTITY, code, line["line_no"])
    return [{"kind": "reservation", "key": code, "line_no": line["line_no"], "effect": "reservation_reduced",
             "details": {"from": quantity_text(reserved), "to": quantity_text(kept)}}]


async def _production_to_review(code: str, line: dict[str, Any], old: dict[str, Any]) -> list[dict[str, Any]]:
    """Production orders made for the line keep running: the planner decides; the change names them."""
    orders = await ProductionOrder.select(ProductionOrder.code, ProductionOrder.item, ProductionOrder.quantity_micro,
                                          ProductionOrder.status).where(
        (ProductionOrder.sales_order == code) & (ProductionOrder.sales_order_line == line["line_no"])
        & ProductionOrder.status.is_in(list(production_rules.OPEN_FOR_ORDER)))
    return [{"kind": "production_order", "key": order["code"], "line_no": line["line_no"],
             "effect": "production_order_to_review",
             "details": {"making": quantity_text(order["quantity_micro"]), "item": order["item"],
                         "line_quantity_before": quantity_text(old["quantity_micro"]),
                         "line_quantity_after": quantity_text(line["quantity_micro"]), "line_item": line["item"],
                         "status": order["status"]}}
            for order in orders]


async def _price_recheck(code: str) -> list[dict[str, Any]]:
    """New prices (a substituted product, an added line) pass the review's price checks again, as at submission;
    a failed one holds the order for an approver of that check."""
    row = await service.SALES_ORDERS.load(code)
    failed = next((r for r in await service.price_review(row) if not r.passed), None)
    if failed is None or row["status"] == rules.ON_HOLD:
        return []
    await service.SALES_ORDERS.bump(row, {SalesOrder.status: rules.ON_HOLD, SalesOrder.held_from: row["status"],
                                          SalesOrder.hold_reason: failed.message, SalesOrder.hold_kind: failed.check})
    return [{"kind": failed.check, "key": code, "line_no": None, "effect": "review_hold", "details": failed.details}]


async def _promise_recheck(code: str, changed_lines: set[int]) -> list[dict[str, Any]]:
    """Every change promises the order again (server/planning/promising.py); with the policy's promise check, a
    changed or added line now promised later than requested holds the order for an approver of that check."""
    promised = await promising.review_promises(code)
    if not (await service.get_policy()).promise_check:
        return []
    check = rules.promise_check([p for p in promised if p[0] in changed_lines])
    row = await service.SALES_ORDERS.load(code)
    if check.passed or row["status"] == rules.ON_HOLD:
        return []
    await service.SALES_ORDERS.bump(row, {SalesOrder.status: rules.ON_HOLD, SalesOrder.held_from: row["status"],
                                          SalesOrder.hold_reason: check.message, SalesOrder.hold_kind: rules.PROMISE})
    return [{"kind": rules.PROMISE, "key": code, "line_no": None, "effect": "promise_hold", "details": check.details}]


async def _credit_recheck(code: str, value_before: Decimal, value_after: Decimal, customer: str) -> list[dict[str, Any]]:
    """An order that grew passes the credit check again; over the limit, it goes on hold for an approver's release."""
    if value_after <= value_before:
        return []
    policy = await service.get_policy()
    if not policy.credit_check:
        return []
    row = await service.SALES_ORDERS.load(code)
    limit = await Customer.select(Customer.credit_limit, Customer.currency).where(Customer.code == customer).first()
    exposure = await service.customer_exposure(customer, excluding=row["id"])
    check = rules.credit_check(Decimal(limit["credit_limit"]), exposure, value_after, limit["currency"])
    if check.passed or row["status"] == rules.ON_HOLD:
        return []
    await service.SALES_ORDERS.bump(row, {SalesOrder.status: rules.ON_HOLD, SalesOrder.held_from: row["status"],
                                          SalesOrder.hold_reason: check.message, SalesOrder.hold_kind: rules.CREDIT})
    return [{"kind": "credit", "key": code, "line_no": None, "effect": "credit_hold", "details": check.details}]
