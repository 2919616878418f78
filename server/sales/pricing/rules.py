"""What a sales line costs and whether an order keeps to its contract, as plain functions of values (no I/O): the
price a customer gets for an item, a quantity and a date (a contract's agreed price first, else the price list's
break price less the customer's grade discount), the discount a line really gives (its net price against that
reference price), and the review's contract check. The database side is price_lists.py and contracts.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from server.document_rules import Problem
from server.quantities import MICRO_PER_UNIT
from server.sales.rules import CONTRACT, HUNDRED, CheckResult, check_message, plain

PERCENT_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class ListedPrice:
    """One item on one price list."""

    price_list: str
    currency: str
    valid_from: date
    valid_to: date | None
    list_price: Decimal
    breaks: tuple[tuple[Decimal, Decimal], ...] = ()  # (from quantity, unit price)
    grade_discounts: Mapping[str, Decimal] = field(default_factory=dict)

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True)
class AgreedPrice:
    """One item on a customer's contract."""

    contract: str
    valid_from: date
    valid_to: date
    agreed_price: Decimal

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on <= self.valid_to


@dataclass(frozen=True)
class Price:
    unit_price: Decimal
    discount_pct: Decimal
    reference_price: Decimal  # what the discount check measures the line's net price against
    source: str  # contract | price_list
    price_list: str | None = None
    contract: str | None = None
    break_from: Decimal | None = None


def break_price(listed: ListedPrice, quantity: Decimal) -> tuple[Decimal, Decimal | None]:
    """The unit price for this quantity: the highest break it reaches, else the list price."""
    reached = [(start, price) for start, price in listed.breaks if quantity >= start]
    if not reached:
        return listed.list_price, None
    start, price = max(reached)
    return price, start


def price_for(*, grade: str, currency: str, quantity: Decimal, on: date, listed: Iterable[ListedPrice],
              agreed: AgreedPrice | None = None) -> Price | None:
    """The price of a line: under a contract valid that day, its agreed price (no further discount); else, of the
    price lists in the order's currency valid that day, the one that started last (ties: the lowest code), at the
    break the quantity reaches, less the customer's grade discount. None: nothing prices it."""
    if agreed is not None and agreed.valid_on(on):
        return Price(agreed.agreed_price, Decimal(0), agreed.agreed_price, "contract", contract=agreed.contract)
    candidates = sorted((p for p in listed if p.currency == currency and p.valid_on(on)),
                        key=lambda p: (-p.valid_from.toordinal(), p.price_list))
    if not candidates:
        return None
    chosen = candidates[0]
    unit_price, start = break_price(chosen, quantity)
    return Price(unit_price, Decimal(chosen.grade_discounts.get(grade, 0)), unit_price, "price_list",
                 price_list=chosen.price_list, break_from=start)


def net_price(unit_price: Decimal, discount_pct: Decimal) -> Decimal:
    return (unit_price * (HUNDRED - discount_pct) / HUNDRED).quantize(MONEY_PLACES, ROUND_HALF_UP)


def effective_discount_pct(unit_price: Decimal, discount_pct: Decimal, reference_price: Decimal | None) -> Decimal:
    """The discount a line really gives: its net price against the reference price (a typed-in low price is a
    discount too). Without a reference price, only the typed discount is known."""
    if reference_price is None or reference_price <= 0:
        return discount_pct
    given = (HUNDRED - net_price(unit_price, discount_pct) * HUNDRED / reference_price)
    return max(discount_pct, given.quantize(PERCENT_PLACES, ROUND_HALF_UP))


def price_list_problems(items: Sequence[Mapping]) -> list[Problem]:
    """An item once per list, and no two of its breaks starting at the same quantity."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, entry in enumerate(items):
        if entry["item"] in seen:
            problems.append((f"items[{index}].item", "duplicate_item", f"item {entry['item']!r} is listed twice"))
        seen.add(entry["item"])
        starts = [b["from_quantity"] for b in entry["breaks"]]
        if len(set(starts)) != len(starts):
            problems.append((f"items[{index}].breaks", "duplicate_break", "two breaks start at the same quantity"))
    return problems


# -- the contract check --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ContractTerms:
    code: str
    valid_from: date
    valid_to: date
    agreed: Mapping[str, tuple[Decimal, int]]  # item → (agreed price, agreed quantity in micro-units)


@dataclass(frozen=True)
class OrderLineTerms:
    line_no: int
    item: str
    quantity_micro: int
    unit_price: Decimal
    discount_pct: Decimal


def contract_check(terms: ContractTerms, order_date: date, lines: Sequence[OrderLineTerms],
                   called_off_micro: Mapping[str, int]) -> CheckResult:
    """An order under a contract keeps to it: placed within its validity, only items on it, no net price below the
    agreed price, and what this order calls off plus what earlier orders did within the agreed quantity. Every
    breach is listed; any breach waits for an approver of the contract check."""
    breaches: list[dict[str, str | int]] = []
    if not terms.valid_from <= order_date <= terms.valid_to:
        breaches.append({"code": "contract_not_valid", "date": order_date.isoformat(),
                         "valid_from": terms.valid_from.isoformat(), "valid_to": terms.valid_to.isoformat()})
    ordered: dict[str, int] = {}
    for line in lines:
        if line.item not in terms.agreed:
            breaches.append({"code": "item_not_on_contract", "line_no": line.line_no, "item": line.item})
            continue
        agreed_price, _ = terms.agreed[line.item]
        net = net_price(line.unit_price, line.discount_pct)
        if net < agreed_price:
            breaches.append({"code": "below_agreed_price", "line_no": line.line_no, "item": line.item,
                             "net_price": plain(net), "agreed_price": plain(agreed_price)})
        ordered[line.item] = ordered.get(line.item, 0) + line.quantity_micro
    for item, quantity in ordered.items():
        agreed_micro = terms.agreed[item][1]
        after = called_off_micro.get(item, 0) + quantity
        if after > agreed_micro:
            breaches.append({"code": "over_agreed_quantity", "item": item,
                             "called_off": _quantity(called_off_micro.get(item, 0)), "ordered": _quantity(quantity),
                             "agreed": _quantity(agreed_micro)})
    details = {"contract": terms.code, "breaches": breaches}
    code = "contract_violated" if breaches else "contract_ok"
    return CheckResult(CONTRACT, not breaches, code, check_message("en", code, details), details)


def _quantity(micro: int) -> str:
    return plain(Decimal(micro) / MICRO_PER_UNIT)

