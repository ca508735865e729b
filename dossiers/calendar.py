"""Working days, due dates and timeliness under Vietnamese public-holiday rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Final, Literal

from core.vntime import VN_TZ

__all__ = [
    "END_OF_WORKING_DAY",
    "TIMELINESS_LABELS_VI",
    "Timeliness",
    "WorkCalendar",
    "due_at",
    "statutory_holidays",
    "timeliness",
    "working_days_late",
    "working_days_left",
]

END_OF_WORKING_DAY: Final = time(17, 0)
"""Local time at which a due date expires (the end of office hours)."""

Timeliness = Literal["early", "on_time", "late"]

TIMELINESS_LABELS_VI: Final[Mapping[Timeliness, str]] = MappingProxyType(
    {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Trễ hạn"}
)
"""How each timeliness is called on Vietnamese reports and pages."""


@lru_cache(maxsize=64)
def _library_year(year: int) -> tuple[Mapping[date, str], frozenset[date]]:
    """Return the `holidays` library's days off and swapped working Saturdays for one year."""
    import holidays  # loaded on the first due date, not by every process that starts Django

    calendar = holidays.country_holidays("VN", years=year, language="vi")
    days_off = MappingProxyType(
        {day: str(name) for day, name in calendar.items() if day.year == year}
    )
    workdays = frozenset(day for day in calendar.weekend_workdays if day.year == year)
    return days_off, workdays


def statutory_holidays(year: int) -> Mapping[date, str]:
    """Return the days off the `holidays` library knows for `year`, with Vietnamese names.

    It covers the Labor Code 2019 (Art. 112) holidays: New Year, lunar Tết (five
    days: 29 or 30 Tết to the 4th day, with holidays falling on a weekend given in
    lieu), Hùng Kings, 30/4, 1/5, National Day (2/9 plus an adjacent day), Vietnam
    Cultural Day (24/11, from 2026), each moved to the next working day when it
    falls on a weekend, and the bridge days the government decreed for public
    servants in the years the library lists (their swapped working Saturdays are
    working days in :class:`WorkCalendar`). Years not yet decreed are estimates.
    """
    return _library_year(year)[0]


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {moment!r}")


@dataclass(frozen=True)
class WorkCalendar:
    """The working days of an office: Monday to Friday minus public holidays, plus swaps."""

    extra_holidays: frozenset[date] = frozenset()
    """Days off decreed by the government on top of the statutory ones, bridge days included."""

    extra_workdays: frozenset[date] = frozenset()
    """Days worked although they would be off, such as the Saturday that repays a bridge day."""

    def __post_init__(self) -> None:
        both = self.extra_holidays & self.extra_workdays
        if both:
            listed = ", ".join(day.isoformat() for day in sorted(both))
            raise ValueError(f"days both extra holidays and extra workdays: {listed}")

    def is_working_day(self, day: date) -> bool:
        """Tell whether the office works on `day`.

        The administrator's lists decide first (a day in `extra_workdays` is worked
        even when the library calls it a holiday, so a wrong library entry can be
        overridden); then the library's swapped working Saturdays are worked; any
        other day is worked when it is Monday to Friday and not a statutory holiday.
        """
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        days_off, swapped_workdays = _library_year(day.year)
        if day in swapped_workdays:
            return True
        return day.weekday() < 5 and day not in days_off

    def add_working_days(self, start: date, n: int) -> date:
        """Return the `n`-th working day after `start` (before it when `n` is negative).

        `start` itself is never counted, so ``add_working_days(friday, 1)`` is the
        next Monday when that is a working day; ``n == 0`` returns `start` unchanged.
        """
        step = timedelta(days=1 if n >= 0 else -1)
        day = start
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, END_OF_WORKING_DAY, tzinfo=VN_TZ).astimezone(UTC)


def due_at(received_at: datetime, limit_working_days: int, calendar: WorkCalendar) -> datetime:
    """Return the moment, in UTC, by which a dossier received at `received_at` is due.

    The rule: the legal time limit counts whole working days starting with the
    first working day after the (Vietnam-time) day of receipt, whatever the hour of
    receipt; the dossier is due at 17:00 Asia/Ho_Chi_Minh on the N-th of those
    days. A dossier received on a weekend, a holiday or after office hours thus
    gets the same due moment as one received that morning. A limit of 0 days
    (settled on the spot) is due at 17:00 on the day of receipt when that is a
    working day and receipt was no later than 17:00, otherwise at 17:00 on the next
    working day.

    Raises ValueError for a naive `received_at` or a negative limit.
    """
    _require_aware(received_at, "received_at")
    if limit_working_days < 0:
        raise ValueError(f"limit_working_days must be >= 0, got {limit_working_days}")
    local = received_at.astimezone(VN_TZ)
    day = local.date()
    if limit_working_days == 0:
        if calendar.is_working_day(day) and local.time() <= END_OF_WORKING_DAY:
            return _end_of_day(day)
        return _end_of_day(calendar.add_working_days(day, 1))
    return _end_of_day(calendar.add_working_days(day, limit_working_days))


def timeliness(resolved_at: datetime, due: datetime) -> Timeliness:
    """Classify a resolution against its due moment, comparing dates in Vietnam time.

    Resolved on a (local) date before the due date: early (trước hạn); on the due
    date and no later than the due moment: on time (đúng hạn); after the due
    moment: late (trễ hạn).
    """
    _require_aware(resolved_at, "resolved_at")
    _require_aware(due, "due")
    if resolved_at > due:
        return "late"
    if resolved_at.astimezone(VN_TZ).date() < due.astimezone(VN_TZ).date():
        return "early"
    return "on_time"


def working_days_late(resolved_at: datetime, due: datetime, calendar: WorkCalendar) -> int:
    """Return how many working days past its due moment a dossier was resolved.

    Counts the working days after the (Vietnam-time) due date up to and including
    the resolution date; a late resolution counts at least 1 even when no working
    day lies between (resolved after 17:00 on the due date, or on the weekend
    after it). Not late gives 0.
    """
    if timeliness(resolved_at, due) != "late":
        return 0
    day = due.astimezone(VN_TZ).date()
    last = resolved_at.astimezone(VN_TZ).date()
    count = 0
    while day < last:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            count += 1
    return max(count, 1)


def working_days_left(moment: datetime, due: datetime, calendar: WorkCalendar) -> int:
    """Return the working days still left before ``due`` when the clock stops at ``moment``.

    The (Vietnam-time) day of ``moment`` counts as used; the working days after it up to
    and including the due date are left. A clock stopped on or after the due date has
    none left. With :func:`due_at`, ``due_at(resumed, left, calendar)`` is the new due
    moment once the clock runs again (a supplement pause: Decree 118/2025 does not count
    the time the citizen takes to complete the papers).
    """
    _require_aware(moment, "moment")
    _require_aware(due, "due")
    day = moment.astimezone(VN_TZ).date()
    last = due.astimezone(VN_TZ).date()
    count = 0
    while day < last:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            count += 1
    return count
