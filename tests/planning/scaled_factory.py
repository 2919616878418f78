"""The demo factory's shape scaled up for the scheduling engine (the benchmark of issue 15 and its test at a few
hundred operations), generated deterministically from a seed: five stages of four work centres each (cutting,
sewing, welding, assembly, packing), with the demo's calendars (two shifts Monday to Friday or Saturday, a day shift
Monday to Friday or Saturday) and one to three machines; a setup matrix per work centre by item family (a change of
family costs 20 to 90 open minutes, staying in one costs nothing); finished-chair orders (assembly, packing) each fed
by two part orders (cutting, sewing or welding, then a second part stage), due over the first weeks so that the
shop is loaded to about 90 %, weights 1 to 3 as the customer's grade gives them, and some material arriving
later than now."""

from __future__ import annotations

import random
from collections import defaultdict

from server.planning.scheduling import Operation, Order, Problem, WorkCentre

DAY = 1440
WEEKS = 8
FAMILIES = ("mesh", "leather", "fabric", "gaming", "stool", "kids")
TWO_SHIFTS = ((6 * 60, 22 * 60),)  # 06:00-14:00 and 14:00-22:00, one stretch
DAY_SHIFT = ((8 * 60, 17 * 60),)
# stage: (code prefix, calendar, working days a week)
STAGES = (("CUT", TWO_SHIFTS, 5), ("SEW", DAY_SHIFT, 5), ("WELD", TWO_SHIFTS, 5), ("ASM", TWO_SHIFTS, 6),
          ("PACK", DAY_SHIFT, 6))


def calendar(shifts: tuple[tuple[int, int], ...], days_a_week: int, holiday: int | None) -> tuple:
    return tuple((week * 7 * DAY + day * DAY + a, week * 7 * DAY + day * DAY + b)
                 for week in range(WEEKS) for day in range(days_a_week)
                 if week * 7 + day != holiday for a, b in shifts)


def scaled_factory(operations: int = 2000, seed: int = 15, load: float = 0.65, weeks: int = 4) -> Problem:
    """About `operations` operations: chairs of 2 operations (assembly, packing), each fed by two part orders of 2 to
    3 operations. Each work centre's work is sized to `load` of its open time over `weeks` weeks before any setup
    (setups come on top: the list scheduler changes family at most operations), and the due dates are spread over
    those weeks."""
    rng = random.Random(seed)
    centres: dict[str, WorkCentre] = {}
    stage_centres: list[list[str]] = []
    holiday = 7 + 3  # the second week's Thursday, for every centre: a plant holiday
    for prefix, shifts, days in STAGES:
        codes = []
        for n in range(4):
            matrix = {(a, b): rng.choice((20, 30, 45, 60, 90)) for a in FAMILIES for b in FAMILIES if a != b}
            code = f"{prefix}{n + 1}"
            centres[code] = WorkCentre(code, machines=rng.choice((1, 1, 2, 2, 3)),
                                       open_time=calendar(shifts, days, holiday), setup_minutes=matrix)
            codes.append(code)
        stage_centres.append(codes)
    capacity = {code: c.machines * sum(b - a for a, b in c.open_time if b <= weeks * 7 * DAY)
                for code, c in centres.items()}

    def centre_of(stage: int) -> str:
        codes = stage_centres[stage]
        return rng.choices(codes, weights=[capacity[code] for code in codes])[0]

    plans = []
    count = 0
    while count < operations:
        chair = f"CH{len(plans):04d}"
        parts = []
        for p in range(2):
            first = rng.choice((0, 1, 2))  # cutting, sewing or welding first
            stages = sorted({first, rng.choice([s for s in (1, 2) if s != first])})
            if len(stages) < 3 and rng.random() < 0.5:
                stages = [0, 1, 2]
            release = 0 if rng.random() < 0.8 else rng.randint(1, 5) * DAY + 8 * 60
            parts.append((f"{chair}-P{p}", [(centre_of(s), rng.randint(30, 180)) for s in stages], release))
        steps = [(centre_of(3), rng.randint(30, 180)), (centre_of(4), rng.randint(30, 180))]
        plans.append((chair, rng.choice(FAMILIES), rng.choice((1, 1, 2, 3)), parts, steps))
        count += len(steps) + sum(len(part_steps) for _, part_steps, _ in parts)
    units: dict[str, int] = defaultdict(int)
    for _, _, _, parts, steps in plans:
        for centre, unit in steps + [step for _, part_steps, _ in parts for step in part_steps]:
            units[centre] += unit
    scale = {code: load * capacity[code] / units[code] for code in units}

    def minutes(centre: str, unit: int) -> int:
        return max(1, round(unit * scale[centre]))

    orders: list[Order] = []
    ops: list[Operation] = []
    span = weeks * 7 * DAY
    for chair, family, weight, parts, steps in plans:
        due = rng.randint(3 * DAY, span)
        orders.append(Order(chair, due=due, weight=weight))
        for n, (centre, unit) in enumerate(steps):
            ops.append(Operation(f"{chair}/{n + 1}", chair, (n + 1) * 10, centre, minutes(centre, unit),
                                 family=family))
        for part, part_steps, release in parts:
            orders.append(Order(part, due=due - DAY, weight=weight, feeds=(chair,)))
            for n, (centre, unit) in enumerate(part_steps):
                ops.append(Operation(f"{part}/{n + 1}", part, (n + 1) * 10, centre, minutes(centre, unit),
                                     family=family, release=release if n == 0 else 0))
    return Problem(tuple(centres.values()), tuple(orders), tuple(ops), now=0)
