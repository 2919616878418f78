"""An order's history, change preview and impacts in the reader's words: a changed field by its label (`lines[10].
quantity` reads as "line 10 · quantity"), a status by its name, what a change did downstream as a catalog sentence."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from server.i18n import has_key, translate
from server.sales.rules import CHECKS, CREDIT, check_message
from server.web.sales_common import shown

LINE_FIELD = re.compile(r"^lines\[(\d+)\](?:\.(\w+))?$")
STATUS_FIELDS = ("status", "held_from")


# Where the pages already name a field, after the general `field.*` labels.
LABEL_FAMILIES = ("field", "so", "devices", "ship", "po", "prd", "quality", "ncr", "quote", "contract", "pricing", "webhooks",
                  "stock", "audit")


def field_label(lang: str, name: str) -> str:
    for key in (f"{family}.{name}" for family in LABEL_FAMILIES):
        if has_key(key):
            return translate(lang, key)
    return name


def change_field(lang: str, name: str) -> str:
    line = LINE_FIELD.match(name)
    if line is None:
        return field_label(lang, name)
    label = translate(lang, "so.line", line=line.group(1))
    return f"{label} · {field_label(lang, line.group(2))}" if line.group(2) else label


def credit_hold_words(reviews: list[Any]) -> Callable[[int | None], Any]:
    """The failed credit check that held the order as of a version: a credit hold's reason is stored in English for
    the API, and said from the check's code and values on a page."""
    failed = sorted((review.version, check) for review in reviews for check in review.checks
                    if check.check == CREDIT and not check.passed)

    def at(version: int | None) -> Any:
        found = [check for reviewed, check in failed if version is not None and reviewed <= version]
        return found[-1] if found else None

    return at


def change_value(lang: str, name: str, value: Any, credit_check: Any = None) -> str:
    if name == "hold_reason" and value and credit_check is not None:
        return check_message(lang, credit_check.code, credit_check.details)
    if name in STATUS_FIELDS and isinstance(value, str) and has_key(f"so.status_{value}"):
        return translate(lang, f"so.status_{value}")
    if isinstance(value, str) and has_key(f"audit.value_{value}"):
        return translate(lang, f"audit.value_{value}")
    if isinstance(value, dict) and {"method", "reason", "params"} <= value.keys():  # a line's promise
        reason = translate(lang, value["reason"], **value["params"]) if has_key(value["reason"]) else ""
        return " · ".join(str(part) for part in (value.get("promise_date") or "—", reason) if part)
    return shown(value)


def impact_details(lang: str, effect: str, details: dict[str, Any]) -> str:
    """The numbers behind one impact; an effect the catalog has no sentence for shows its values as they are."""
    if not details:
        return ""
    if effect == "credit_hold":
        return check_message(lang, "credit_limit_exceeded", details)
    values = dict(details)
    for name, family in (("from", "so"), ("to", "so"), ("status", "prd")):
        value = values.get(name)
        if effect in ("status_changed", "production_order_to_review", "production_order_cancelled") and \
                isinstance(value, str) and has_key(f"{family}.status_{value}"):
            values[name] = translate(lang, f"{family}.status_{value}")
    key = f"so.impact_{effect}"
    return translate(lang, key, **values) if has_key(key) else shown(details)


def reason_text(lang: str, reason: str | None) -> str:
    """A revision's reason: what a person typed, or, for a submission, the checks the review failed (`credit,
    discount`), named in the reader's language."""
    parts = (reason or "").split(", ")
    if reason and all(part in CHECKS for part in parts):
        return translate(lang, "list.separator").join(translate(lang, f"so.check_{part}") for part in parts)
    return reason or ""
