"""The quality rules as plain functions of values: whether a plan's characteristics make sense, whether one result
passes, and the verdict of an inspection from its results. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from server.document_rules import Problem, Refusal

NUMERIC, PASS_FAIL = "numeric", "pass_fail"
PASS, FAIL = "pass", "fail"
PENDING = "pending"
OPEN, CLOSED = "open", "closed"
DISPOSITIONS = ("return_to_supplier", "rework", "scrap", "use_as_is")


@dataclass(frozen=True)
class Characteristic:
    name: str
    kind: str
    unit: str = ""
    lower_limit: Decimal | None = None
    upper_limit: Decimal | None = None
    required: bool = True


@dataclass(frozen=True)
class Check:
    """One result as judged: its characteristic (None when judged without a plan), the value and whether it passed."""

    characteristic: str
    kind: str | None
    value: Decimal | str
    unit: str
    passed: bool


@dataclass(frozen=True)
class Judgement:
    verdict: str
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return self.verdict == PASS


def plan_problems(characteristics: Sequence[Characteristic]) -> list[Problem]:
    """What is wrong with a plan's characteristics, each with the field it is about (all at once, for a form)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, ch in enumerate(characteristics):
        where = f"characteristics[{index}]"
        if ch.name.casefold() in seen:
            problems.append((f"{where}.name", "duplicate_characteristic", f"{ch.name!r} appears twice"))
        seen.add(ch.name.casefold())
        if ch.kind == PASS_FAIL and (ch.lower_limit is not None or ch.upper_limit is not None):
            problems.append((f"{where}.lower_limit", "limits_not_allowed", f"{ch.name!r} is pass/fail: it has no limits"))
        if ch.lower_limit is not None and ch.upper_limit is not None and ch.lower_limit > ch.upper_limit:
            problems.append((f"{where}.upper_limit", "invalid_limits",
                             f"{ch.name!r}: the upper limit {ch.upper_limit} is below the lower limit {ch.lower_limit}"))
    return problems


def result_passes(characteristic: Characteristic, value: Decimal | str) -> bool | None:
    """Whether one value passes its characteristic; None when the value is of the wrong kind for it."""
    if characteristic.kind == PASS_FAIL:
        return value == PASS if value in (PASS, FAIL) else None
    if not isinstance(value, Decimal):
        return None
    low, high = characteristic.lower_limit, characteristic.upper_limit
    return (low is None or value >= low) and (high is None or value <= high)


def judge(characteristics: Sequence[Characteristic] | None, results: Iterable[tuple[str, Decimal | str]],
          stated: str | None = None) -> Judgement | Refusal:
    """The verdict of an inspection, or why it cannot be recorded.

    With a plan (`characteristics`), every result must name one of its characteristics, once, with a value of
    its kind, and every required characteristic needs a result; it passes when every result passes. The
    inspector may still fail what the numbers pass (`stated` 'fail': a defect the plan does not list), never
    pass what they fail. Without a plan (None) the inspector's `stated` verdict is the verdict."""
    results = list(results)
    if characteristics is None:
        if results:
            name = results[0][0]
            return Refusal("unknown_characteristic", f"The item has no inspection plan, so no characteristic {name!r}",
                           {"characteristic": name})
        if stated is None:
            return Refusal("no_inspection_plan", "The item has no inspection plan: give a verdict (pass or fail)")
        return Judgement(stated, ())
    by_name = {ch.name.casefold(): ch for ch in characteristics}
    checks: list[Check] = []
    given: set[str] = set()
    for name, value in results:
        ch = by_name.get(name.casefold())
        if ch is None:
            return Refusal("unknown_characteristic", f"The inspection plan has no characteristic {name!r}",
                           {"characteristic": name, "known": [c.name for c in characteristics]})
        if ch.name in given:
            return Refusal("duplicate_result", f"{ch.name!r} has two results", {"characteristic": ch.name})
        passed = result_passes(ch, value)
        if passed is None:
            wanted = "a number" if ch.kind == NUMERIC else "'pass' or 'fail'"
            return Refusal("invalid_result", f"{ch.name!r} takes {wanted}, not {value!r}",
                           {"characteristic": ch.name, "kind": ch.kind})
        given.add(ch.name)
        checks.append(Check(ch.name, ch.kind, value, ch.unit, passed))
    missing = [ch.name for ch in characteristics if ch.required and ch.name not in given]
    if missing:
        return Refusal("missing_result", f"No result for {', '.join(map(repr, missing))}", {"characteristics": missing})
    measured = PASS if all(check.passed for check in checks) else FAIL
    if stated == PASS and measured == FAIL:
        failed = [check.characteristic for check in checks if not check.passed]
        return Refusal("verdict_contradicts_results", f"{', '.join(map(repr, failed))} failed: the verdict cannot be pass",
                       {"failed": failed})
    return Judgement(FAIL if stated == FAIL else measured, tuple(checks))


def disposition_refusal(status: str, disposition: str) -> Refusal | None:
    if status != OPEN:
        return Refusal("ncr_closed", "This nonconformance is closed: its disposition was decided")
    if disposition not in DISPOSITIONS:
        return Refusal("invalid_disposition", f"{disposition!r} is not a disposition: one of {', '.join(DISPOSITIONS)}",
                       {"allowed": list(DISPOSITIONS)})
    return None
