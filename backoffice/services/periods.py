"""Reporting periods: a year, a quarter or a month, bounded in Vietnam time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.utils.translation import gettext as _

from core.vntime import VN_TZ

__all__ = ["QUARTER_NAMES", "Period", "parse_period"]

QUARTER_NAMES = ("I", "II", "III", "IV")
"""Quarters are written in Roman numerals on Vietnamese reports ("Quý II/2025")."""


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=VN_TZ)


@dataclass(frozen=True, order=True)
class Period:
    """A year, or one of its quarters or months; it starts and ends at midnight in Vietnam."""

    year: int
    quarter: int | None = None
    """1 to 4 for a quarter; None for a year or a month."""

    month: int | None = None
    """1 to 12 for a month; None for a year or a quarter."""

    def __post_init__(self) -> None:
        if self.quarter is not None and self.month is not None:
            raise ValueError("a period is a quarter or a month, not both")
        if self.quarter is not None and not 1 <= self.quarter <= 4:
            raise ValueError(f"no quarter {self.quarter}")
        if self.month is not None and not 1 <= self.month <= 12:
            raise ValueError(f"no month {self.month}")

    @property
    def first_month(self) -> int:
        if self.month is not None:
            return self.month
        if self.quarter is not None:
            return 3 * self.quarter - 2
        return 1

    @property
    def month_count(self) -> int:
        return 1 if self.month is not None else 3 if self.quarter is not None else 12

    @property
    def start(self) -> datetime:
        """The first moment of the period (midnight, Vietnam time)."""
        return _midnight(date(self.year, self.first_month, 1))

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        month = self.first_month + self.month_count
        year = self.year + (month - 1) // 12
        return _midnight(date(year, (month - 1) % 12 + 1, 1))

    @property
    def last_day(self) -> date:
        """The period's last calendar day."""
        return date.fromordinal(self.end.date().toordinal() - 1)

    @property
    def key(self) -> str:
        """The value of the page's ``ky`` field: ``""`` (whole year), ``q2`` or ``t5``."""
        if self.month is not None:
            return f"t{self.month}"
        if self.quarter is not None:
            return f"q{self.quarter}"
        return ""

    @property
    def slug(self) -> str:
        """For file names: ``2025``, ``2025-q2``, ``2025-05``."""
        if self.month is not None:
            return f"{self.year}-{self.month:02d}"
        if self.quarter is not None:
            return f"{self.year}-q{self.quarter}"
        return str(self.year)

    @property
    def label(self) -> str:
        """As reports name it: "Năm 2025", "Quý II/2025", "Tháng 5/2025"."""
        if self.month is not None:
            return _("Tháng %(month)s/%(year)s") % {"month": self.month, "year": self.year}
        if self.quarter is not None:
            return _("Quý %(quarter)s/%(year)s") % {
                "quarter": QUARTER_NAMES[self.quarter - 1],
                "year": self.year,
            }
        return _("Năm %(year)s") % {"year": self.year}

    def months(self) -> list[Period]:
        """The months of the period, in order."""
        return [
            Period(self.year, month=month)
            for month in range(self.first_month, self.first_month + self.month_count)
        ]

    def whole_year(self) -> Period:
        """The year the period lies in."""
        return Period(self.year)

    def cutoff(self, now: datetime) -> datetime:
        """The moment the period's open dossiers are counted at: its end, or now while it
        runs (never before its start)."""
        return max(self.start, min(self.end, now))


def parse_period(year: int, key: str) -> Period:
    """The period of ``year`` named by ``key`` (``""``, ``q1``…``q4``, ``t1``…``t12``).

    Raises ValueError for a key that names no period.
    """
    if not key:
        return Period(year)
    kind, number = key[0], int(key[1:])
    if kind == "q":
        return Period(year, quarter=number)
    if kind == "t":
        return Period(year, month=number)
    raise ValueError(f"no period {key!r}")
