"""What the planner's Gantt draws around a schedule (server/web/schedule_pages.py): the site's work centres with their
machines, and each one's closed time over the stretch shown, read from the same calendars the schedule is made on
(`open_time` of schedule_snapshot.py: outside its shifts, its days off, its holidays), as instants of the site's time
zone; and where a sequence-dependent setup before an operation begins, counted back in its work centre's open time,
since a setup pauses across closed time as an operation does.

Time inside a frame is minutes from the site-local midnight of its first day, as in the schedule input (China keeps
no summer time; a zone that does is drawn an hour off around its change, never wrong about a working day)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.masterdata.tables import Site, WorkCentre
from server.planning.schedule_snapshot import open_time

Interval = tuple[int, int]
MAX_DAYS = 120


@dataclass(frozen=True)
class CentreCalendar:
    code: str
    name: str
    machines: int
    open: tuple[Interval, ...]  # minutes from the frame's origin, sorted, disjoint


@dataclass(frozen=True)
class GanttFrame:
    """A site's work centres and their open time from `origin` (site-local midnight, naive) for `days` days."""

    site: str
    zone: ZoneInfo
    origin: datetime
    days: int
    centres: dict[str, CentreCalendar]

    @property
    def end(self) -> int:
        return self.days * 24 * 60

    def instant(self, minute: int) -> datetime:
        return (self.origin + timedelta(minutes=minute)).replace(tzinfo=self.zone)

    def minute(self, instant: datetime) -> int:
        local = instant.astimezone(self.zone).replace(tzinfo=None)
        return int((local - self.origin).total_seconds() // 60)

    def closed(self, code: str) -> list[tuple[datetime, datetime]]:
        """The work centre's closed time over the frame."""
        return [(self.instant(a), self.instant(b)) for a, b in closed_between(self.centres[code].open, 0, self.end)]

    def closed_everywhere(self) -> list[tuple[datetime, datetime]]:
        """When every work centre of the frame is closed (a Sunday, a plant holiday, the night if no one works it)."""
        opened = merged(interval for centre in self.centres.values() for interval in centre.open)
        return [(self.instant(a), self.instant(b)) for a, b in closed_between(opened, 0, self.end)]

    def setup_from(self, code: str, start: datetime, minutes: int) -> datetime:
        """Where a setup of `minutes` open minutes that ends at `start` began on the work centre."""
        if code not in self.centres:
            return start
        return self.instant(setup_start(self.centres[code].open, self.minute(start), minutes))

    def utc_offset_minutes(self) -> int:
        offset = self.instant(0).utcoffset()
        return int(offset.total_seconds() // 60) if offset else 0


def merged(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    out: list[list[int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def closed_between(opened: Sequence[Interval], first: int, last: int) -> list[Interval]:
    """The gaps of sorted, disjoint open intervals within [first, last)."""
    gaps, at = [], first
    for a, b in opened:
        if b <= at:
            continue
        if a >= last:
            break
        if a > at:
            gaps.append((at, a))
        at = max(at, b)
    if at < last:
        gaps.append((at, last))
    return gaps


def setup_start(opened: Sequence[Interval], end: int, minutes: int) -> int:
    """The minute from which `minutes` open minutes run up to `end`; before the first open interval, plain minutes."""
    left, at = minutes, end
    if left <= 0:
        return end
    for a, b in reversed(opened):
        if a >= at:
            continue
        b = min(b, at)
        if b - a >= left:
            return b - left
        left -= b - a
        at = a
    return at - left


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value  # SQLite gives JSON columns as text


async def site_zone(site: str) -> ZoneInfo:
    row = await Site.select(Site.timezone).where(Site.code == site).first()
    return ZoneInfo(row["timezone"] if row and row["timezone"] else "UTC")


async def gantt_frame(site: str, used: Iterable[str], first: datetime, last: datetime) -> GanttFrame:
    """The work centres of the site (and any other the schedule uses) with their open time from the site-local day
    of `first` to the day after `last` (at most MAX_DAYS days)."""
    zone = await site_zone(site)
    start_day = first.astimezone(zone).date()
    days = min(MAX_DAYS, max(1, (last.astimezone(zone).date() - start_day).days + 2))
    used = set(used)
    rows = await WorkCentre.select(
        WorkCentre.code, WorkCentre.name, WorkCentre.site, WorkCentre.archived, WorkCentre.parallel_capacity,
        WorkCentre.shifts, WorkCentre.working_days, WorkCentre.holidays).order_by(WorkCentre.code)
    centres = {}
    for row in rows:
        if row["code"] not in used and (row["archived"] or row["site"] not in (site, None)):
            continue
        calendar = {"shifts": _json(row["shifts"]), "working_days": _json(row["working_days"]),
                    "holidays": _json(row["holidays"])}
        centres[row["code"]] = CentreCalendar(row["code"], row["name"], max(1, int(row["parallel_capacity"] or 1)),
                                              open_time(calendar, start_day, days))
    origin = datetime.combine(start_day, datetime.min.time())
    return GanttFrame(site, zone, origin, days, centres)
