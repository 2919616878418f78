"""The RFQ rules as values in and decisions out: the price a quote gives at a quantity (its breaks), a line's cost at
the supplier's minimum, a quote's delivery against the need, and which quote is recommended."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from server.purchasing import rfq_rules
from server.purchasing.rfq_rules import LineAsked, LinePrice, QuoteTerms

TODAY = date(2026, 3, 2)
NEEDED_BY = date(2026, 3, 22)


def test_the_highest_break_the_quantity_reaches_gives_the_price():
    breaks = ((D(1000), D("2.40")), (D(500), D("2.50")))
    assert [rfq_rules.price_at(D(q), D("2.80"), breaks) for q in (499, 500, 999, 1000, 5000)] == [
        D("2.80"), D("2.50"), D("2.50"), D("2.40"), D("2.40")]
    assert rfq_rules.price_at(D(10), D("2.80"), ()) == D("2.80")


def test_a_quantity_below_the_minimum_is_billed_at_the_minimum_and_its_break():
    cost = rfq_rules.line_cost(LineAsked(10, "GAS", D(400)), LinePrice(10, D("2.80"), D(500), ((D(500), D("2.50")),)))
    assert (cost.billed_quantity, cost.unit_price, cost.cost) == (D(500), D("2.50"), D("1250.00"))


def terms(supplier: str, lead: int, price: str, valid_until: date = date(2026, 4, 1)) -> QuoteTerms:
    return QuoteTerms(supplier, lead, valid_until, (LinePrice(10, D(price)),))


def costs(*quotes: QuoteTerms) -> list[rfq_rules.QuoteCost]:
    return [rfq_rules.cost_of([LineAsked(10, "GAS", D(3))], q, NEEDED_BY, TODAY) for q in quotes]


def test_the_cheapest_on_time_quote_is_recommended_over_a_cheaper_late_one():
    late, dear, cheap = costs(terms("LATE", 21, "1.00"), terms("DEAR", 20, "2.00"), terms("CHEAP", 5, "1.50"))
    assert (late.days_late, late.meets_date, dear.meets_date, late.total) == (1, False, True, D("3.00"))
    assert rfq_rules.recommended([late, dear, cheap]).supplier == "CHEAP"


def test_when_none_is_on_time_the_earliest_is_recommended_and_an_expired_one_never():
    slow, slower, stale = costs(terms("SLOW", 25, "9.00"), terms("SLOWER", 30, "1.00"),
                                terms("STALE", 1, "0.10", valid_until=date(2026, 3, 1)))
    assert stale.expired and not slow.expired
    assert rfq_rules.recommended([slow, slower, stale]).supplier == "SLOW"
    assert rfq_rules.recommended([stale]) is None


def test_a_quote_is_good_through_its_last_day_and_the_po_is_due_when_needed_or_when_it_can_come():
    assert not rfq_rules.is_expired(TODAY, TODAY) and rfq_rules.is_expired(date(2026, 3, 1), TODAY)
    assert rfq_rules.due_date(NEEDED_BY, date(2026, 3, 12)) == NEEDED_BY
    assert rfq_rules.due_date(NEEDED_BY, date(2026, 3, 30)) == date(2026, 3, 30)
