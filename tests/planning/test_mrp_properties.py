"""The MRP engine's invariants over random BOM trees, demands, stock and lot rules (hypothesis): what any correct
plan must satisfy whatever the figures, so that the textbook records are not the only thing standing guard. The
engine is a pure function; it runs here in-process, the command line that wraps it is proven by the textbook tests."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.planning.mrp import Component, Demand, Lot, LotRule, PlanItem, Problem, Receipt, plan

U = 1_000_000  # one unit in micro-units


@st.composite
def problems(draw) -> Problem:
    horizon = draw(st.integers(3, 10))
    count = draw(st.integers(1, 7))
    codes = [f"I{n}" for n in range(count)]
    items = {}
    for code in codes:
        rule = draw(st.sampled_from(["lot_for_lot", "fixed", "period"]))
        lot = LotRule(rule, quantity=draw(st.integers(1, 40)) * U if rule == "fixed" else 0,
                      periods=draw(st.integers(1, 4)), minimum=draw(st.sampled_from([0, 0, 15 * U])),
                      multiple=draw(st.sampled_from([0, 0, 5 * U])))
        items[code] = PlanItem(code, lead_time=draw(st.integers(0, 3)), on_hand=(Lot(draw(st.integers(0, 60)) * U),),
                               safety_stock=draw(st.integers(0, 20)) * U, lot_rule=lot)
    components = []
    for child_index in range(1, count):  # a parent always comes before its child: a DAG, items on several levels
        for parent_index in draw(st.sets(st.integers(0, child_index - 1), min_size=1, max_size=2)):
            components.append(Component(codes[parent_index], codes[child_index], draw(st.integers(1, 3)) * U,
                                        draw(st.sampled_from([0, 0, 100_000]))))
    demands = [Demand(draw(st.sampled_from(codes)), draw(st.integers(1, horizon)), draw(st.integers(1, 80)) * U,
                      f"order:{n}", draw(st.sampled_from(["sales", "forecast"])))
               for n in range(draw(st.integers(1, 8)))]
    receipts = [Receipt(draw(st.sampled_from(codes)), draw(st.integers(1, horizon)), draw(st.integers(1, 50)) * U,
                        f"po:{n}") for n in range(draw(st.integers(0, 3)))]
    return Problem(horizon, items, components, demands, receipts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_plan_keeps_stock_at_safety_offsets_by_lead_time_obeys_lot_rules_and_pegs_every_demand(problem):
    result = plan(problem)
    orders_of = defaultdict(list)
    for order in result.planned_orders:
        orders_of[order.item].append(order)
    for code, record in result.records.items():
        item = problem.items[code]
        # a planned order can always be placed (no time fence here), so the balance never drops below safety stock
        assert all(balance >= item.safety_stock for balance in record.projected_on_hand)
        # releases are the receipts moved back by the lead time (a past-due release shows in period 1)
        releases = [0] * problem.horizon
        for period, quantity in enumerate(record.planned_order_receipts, start=1):
            releases[max(period - item.lead_time, 1) - 1] += quantity
        assert releases == record.planned_order_releases
        for order in orders_of[code]:
            rule = item.lot_rule
            assert order.quantity >= rule.minimum
            if rule.multiple:
                assert order.quantity % rule.multiple == 0
            if rule.rule == "fixed" and not rule.multiple:
                assert order.quantity % rule.quantity == 0
            assert order.quantity >= record.net_requirements[order.receipt_period - 1]
    # every demand, independent or dependent, is served in full by supply that arrives in time
    served = defaultdict(int)
    for peg in result.pegs:
        served[(peg.item, peg.demand)] += peg.quantity
        assert peg.supply_period <= peg.demand_period
    wanted = defaultdict(int)
    for demand in problem.demands:
        wanted[(demand.item, demand.source)] += demand.quantity
    for order in result.planned_orders:  # each release is its components' demand
        for link in problem.components:
            if link.parent == order.item:
                wanted[(link.child, order.id)] += -(-order.quantity * link.quantity_micro
                                                    * (U + link.scrap_ppm) // (U * U))
    for code, item in problem.items.items():
        if item.safety_stock:
            wanted[(code, f"safety_stock:{code}")] += item.safety_stock
    assert dict(served) == {key: quantity for key, quantity in wanted.items() if quantity}
    # and what is not pegged is the surplus the balance ends with above safety stock
    for code, record in result.records.items():
        item = problem.items[code]
        supplied = record.on_hand + sum(record.scheduled_receipts) + sum(record.planned_order_receipts)
        pegged = sum(peg.quantity for peg in result.pegs if peg.item == code)
        assert supplied - pegged == record.projected_on_hand[-1] - item.safety_stock
        if item.lot_rule == LotRule():
            assert all(order.pegged_quantity == order.quantity for order in orders_of[code])
