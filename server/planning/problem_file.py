"""`floorsync mrp FILE`: the time-bucketed MRP problem of DESIGN.md section 6 read into the engine's data, and the
plan written back as JSON records, planned orders with their pegging, and exceptions said in English."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from schemas.planning import MrpItemIn, MrpProblemIn
from server.i18n import translate
from server.planning.mrp import (
    MICRO_PER_UNIT, Component, Demand, Lot, LotRule, Plan, PlanException, PlanItem, Problem, Receipt, PlanningError, plan,
)
from server.quantities import quantity_text, to_micro

RECORD_ROWS = ("gross_requirements", "scheduled_receipts", "projected_on_hand", "net_requirements",
               "planned_order_receipts", "planned_order_releases")


class ProblemFileError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _period(text: str, horizon: int, where: str) -> int:
    try:
        period = int(text)
    except ValueError:
        raise ProblemFileError("invalid_period", f"{where}: period {text!r} is not a whole number") from None
    if not 1 <= period <= horizon:
        raise ProblemFileError("invalid_period", f"{where}: period {period} is outside 1..{horizon}")
    return period


def _lot_rule(item: MrpItemIn) -> LotRule:
    size = item.lot_size
    quantity = to_micro(size.quantity or Decimal(0))
    minimum = to_micro(size.minimum_quantity or Decimal(0))
    multiple = to_micro(size.multiple_of or Decimal(0))
    rule = size.rule
    if rule == "minimum":
        rule, minimum = "lot_for_lot", max(minimum, quantity)
    elif rule == "multiple":
        rule, multiple = "lot_for_lot", quantity
    return LotRule(rule, quantity if rule == "fixed" else 0, size.periods, minimum, multiple,
                   to_micro(size.maximum_quantity or Decimal(0)))


def read_problem(data: Any) -> Problem:
    try:
        problem = MrpProblemIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ProblemFileError("invalid_problem", f"{where}: {first['msg']}") from None
    horizon = problem.horizon
    items: dict[str, PlanItem] = {}
    parents = {link.parent for link in problem.bom}
    receipts: list[Receipt] = []
    for item in problem.items:
        if item.code in items:
            raise ProblemFileError("duplicate_item", f"item {item.code} is listed twice")
        lots = [Lot(to_micro(item.on_hand))] if item.on_hand else []
        lots += [Lot(to_micro(lot.quantity), lot.usable_through) for lot in item.lots]
        items[item.code] = PlanItem(
            item.code, item.lead_time, tuple(lots), to_micro(item.safety_stock), _lot_rule(item),
            make=item.code in parents, time_fence=item.time_fence, yield_ppm=to_micro(item.yield_pct / 100))
        for text, quantity in item.scheduled_receipts.items():
            period = _period(text, horizon, f"items.{item.code}.scheduled_receipts")
            receipts.append(Receipt(item.code, period, to_micro(quantity), f"scheduled:{item.code}:{period}"))
    components = [Component(link.parent, link.child, to_micro(link.quantity), to_micro(link.scrap_pct / 100))
                  for link in problem.bom]
    demands = []
    for code, periods in problem.gross_requirements.items():
        if code not in items:
            raise ProblemFileError("unknown_item", f"gross_requirements: item {code} is not in items")
        for text, quantity in periods.items():
            period = _period(text, horizon, f"gross_requirements.{code}")
            demands.append(Demand(code, period, to_micro(quantity), f"demand:{code}:{period}", "manual"))
    return Problem(horizon, items, components, demands, receipts)


def _number(micro: int) -> int | float:
    """A quantity as a JSON number: whole units as integers, else the nearest float (6 decimals at most)."""
    whole, rest = divmod(micro, MICRO_PER_UNIT)
    return whole if rest == 0 else micro / MICRO_PER_UNIT


QUANTITY_VALUES = ("safety_stock", "maximum")


def document_of(source: str) -> str:
    """A supply or demand as a person names it: purchase:PO-2026-0003:20 is PO-2026-0003 / 20."""
    kind, _, rest = source.partition(":")
    code, _, line = rest.partition(":")
    if kind in ("purchase", "sales") and line:
        return f"{code} / {line}"
    return code if kind == "production" and code else source


def exception_text(lang: str, item: str, period: int, code: str, quantity_micro: int, values: dict[str, Any]) -> str:
    """An exception said in `lang`: its quantities as figures, the receipt it concerns as a document."""
    said = {k: quantity_text(v) if k in QUANTITY_VALUES else document_of(v) if k == "receipt" else v
            for k, v in values.items()}
    return translate(lang, f"mrp.exception.{code}", item=item, period=period, quantity=quantity_text(quantity_micro),
                     **said)


def exception_message(exception: PlanException, lang: str = "en") -> str:
    return exception_text(lang, exception.item, exception.period, exception.code, exception.quantity,
                          dict(exception.values))


def write_plan(result: Plan) -> dict[str, Any]:
    records = {code: {row: [_number(v) for v in getattr(record, row)] for row in RECORD_ROWS}
               for code, record in result.records.items()}
    orders = [{"id": order.id, "item": order.item, "type": "production" if order.make else "purchase",
               "quantity": _number(order.quantity), "receipt_period": order.receipt_period,
               "release_period": order.release_period,
               "pegging": [{"demand": peg.demand, "period": peg.demand_period, "quantity": _number(peg.quantity)}
                           for peg in order.pegs]}
              for order in result.planned_orders]
    exceptions = [{"item": e.item, "period": e.period, "code": e.code, "message": exception_message(e),
                   "quantity": _number(e.quantity), "demands": list(e.demands)} for e in result.exceptions]
    return {"records": records, "planned_orders": orders, "exceptions": exceptions,
            "low_level_codes": {code: record.low_level_code for code, record in result.records.items()}}


def solve_file(data: Any) -> tuple[dict[str, Any], int]:
    """The plan of one problem as the command prints it, and the exit status (1 with an `error` when it cannot
    be planned)."""
    try:
        return write_plan(plan(read_problem(data))), 0
    except ProblemFileError as exc:
        return {"error": {"code": exc.code, "message": str(exc)}}, 1
    except PlanningError as exc:
        return {"error": {"code": exc.code, "message": translate("en", f"mrp.error.{exc.code}",
                                                                 **{k: _text(v) for k, v in exc.values.items()})}}, 1


def _text(value: object) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)
