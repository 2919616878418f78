"""What the document areas (purchasing, production, sales, shipping, quality) decide alike, as plain functions of
values: a refusal with a code, a header's status lifecycle (which status may follow which, and why not), who may
approve a document above a limit, the per-year document code and line numbering. No I/O here: the database side of the same pieces (versioned header
writes, counters, conflicts, form problems) is `server/documents.py`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from server.i18n import Message

DRAFT, CLOSED, CANCELLED = "draft", "closed", "cancelled"
LINE_STEP = 10
Problem = tuple[str, str, str]  # field, code, message


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    text: Message | None = None  # the message as a catalog entry, for a page to say in its reader's language


def self_approval_refusal(approver: str, authors: Iterable[str | None], beyond: Iterable[Message]) -> Refusal | None:
    """Four eyes: a document beyond one of its policy's limits (`beyond`: each limit it passes, as a catalog message)
    is approved by someone who neither wrote nor submitted it."""
    passed = list(beyond)
    if not passed or approver not in set(authors):
        return None
    text = Message("refusal.self_approval", {"beyond": passed})
    return Refusal("self_approval", text.english(), {"approver": approver, "beyond": [m.english() for m in passed]}, text)


@dataclass(frozen=True)
class Lifecycle:
    """A document header's statuses: drafted, moved on by the office and the floor, ended by closing or cancelling.

    `code_prefix` names the refusals of a closed or cancelled document (`po_closed`, `sales_order_cancelled`…);
    `draft` is the refusal for moving a draft anywhere but its first step (approve, confirm, release);
    `has_progress` the refusal for cancelling once work was done on it (close it instead)."""

    noun: str
    code_prefix: str
    transitions: Mapping[str, frozenset[str]]
    draft: Refusal
    has_progress: Refusal

    def ended_refusal(self, status: str) -> Refusal | None:
        """Closed and cancelled are final: nothing more happens to the document."""
        if status == CLOSED:
            return Refusal(f"{self.code_prefix}_closed", f"The {self.noun} is closed")
        if status == CANCELLED:
            return Refusal(f"{self.code_prefix}_cancelled", f"The {self.noun} is cancelled")
        return None

    def transition_refusal(self, current: str, target: str) -> Refusal | None:
        """None when a document in `current` may move to `target`; otherwise why not, with a code a client can
        branch on."""
        if target in self.transitions.get(current, frozenset()):
            return None
        ended = self.ended_refusal(current)
        if ended is not None:
            return ended
        # A draft and a document nothing happened to yet may be cancelled: any other refused cancel had progress.
        if target == CANCELLED:
            return self.has_progress
        if current == DRAFT:
            return self.draft
        return Refusal("invalid_transition", f"A {self.noun} that is {current} cannot become {target}")


def document_code(prefix: str, year: int, number: int) -> str:
    """PO-2026-0001: the per-year number, four digits at least."""
    return f"{prefix}-{year}-{number:04d}"


def numbered(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lines without a number (`line_no` None) get the next multiple of 10 after the highest so far."""
    result, highest = [], 0
    for line in lines:
        values = dict(line)
        if values["line_no"] is None:
            values["line_no"] = (highest // LINE_STEP + 1) * LINE_STEP
        highest = max(highest, values["line_no"])
        result.append(values)
    return result


def repeated_line_numbers(line_numbers: Iterable[int]) -> list[int]:
    """Positions (0-based) of lines whose number an earlier line already has."""
    seen: set[int] = set()
    repeated = []
    for index, number in enumerate(line_numbers):
        if number in seen:
            repeated.append(index)
        seen.add(number)
    return repeated
