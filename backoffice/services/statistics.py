"""Office statistics by the indicators of Decision 766/QĐ-TTg, counted by the database.

Every figure comes from an aggregate query (``COUNT(*) FILTER (WHERE …)`` grouped by office
and procedure, or by official); Python only adds up the few grouped rows that come back
(offices into their province, procedures into their field), never the dossiers.

The figures of a period, as the provinces' one-stop reports count them:

- **received**: new (received in the period) and carried over (received before, not
  resolved when the period began);
- **resolved** in the period: early (on a day before the due day), on time (on the due day,
  no later than the due moment), late (``resolved_at > due_at``, as ``dossiers.calendar``);
- **pending** when the period ends (or now, while it runs): within time or overdue;
- supplement requests, transfers and apology letters recorded in the period (events);
- **on-time rate** = (early + on time) / (resolved + pending overdue): of the dossiers that
  came due, the share resolved in time ("đến hạn giải quyết", as provinces publish it);
- **digitized, signed result**: resolved dossiers with a document signed, published or
  delivered, over the resolved ones (the "số hóa" group of Decision 766);
- **satisfaction rate** = (resolved − rated unsatisfied) / resolved (Decision 766).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.db.models.lookups import LessThan

from backoffice.services.periods import Period
from core.vntime import VN_TZ
from dossiers.models import Document, DocumentState, Dossier, Event
from publishing.models import Rating

__all__ = [
    "APOLOGY",
    "SIGNED_STATES",
    "SUPPLEMENT",
    "TRANSFER",
    "Cell",
    "Figures",
    "MonthPoint",
    "cells",
    "early",
    "month_series",
    "open_at",
    "rate",
    "reporting",
]

SUPPLEMENT = "supplement_requested"
TRANSFER = "transferred"
APOLOGY = "apology_issued"
SIGNED_STATES = (DocumentState.SIGNED, DocumentState.PUBLISHED, DocumentState.DELIVERED)
"""A dossier with a document in one of these states has a digitized, signed result."""

Cell = tuple[int, int]
"""(office id, procedure id): the finest grouping the database returns."""


def rate(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole``, to two decimals; None when there is no whole."""
    return round(100 * part / whole, 2) if whole else None


@dataclass(frozen=True)
class Figures:
    """The counts of one office, field, procedure or month; rates are derived from them."""

    received_new: int = 0
    carried_over: int = 0
    resolved_early: int = 0
    resolved_on_time: int = 0
    resolved_late: int = 0
    pending_in_time: int = 0
    pending_overdue: int = 0
    supplement_requests: int = 0
    transfers: int = 0
    apologies: int = 0
    digitized_signed: int = 0
    """Resolved dossiers with a document signed, published or delivered."""

    rated: int = 0
    """Resolved dossiers the citizen rated."""

    unsatisfied: int = 0
    """Resolved dossiers the citizen rated "không hài lòng"."""

    def __add__(self, other: Figures) -> Figures:
        return Figures(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in FIELDS})

    @property
    def received(self) -> int:
        """Dossiers to handle in the period: new and carried over."""
        return self.received_new + self.carried_over

    @property
    def resolved(self) -> int:
        return self.resolved_early + self.resolved_on_time + self.resolved_late

    @property
    def pending(self) -> int:
        return self.pending_in_time + self.pending_overdue

    @property
    def came_due(self) -> int:
        """Resolved, or still pending past their due date."""
        return self.resolved + self.pending_overdue

    @property
    def in_time(self) -> int:
        """Resolved early or on time."""
        return self.resolved_early + self.resolved_on_time

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.in_time, self.came_due)

    @property
    def digitized_rate(self) -> float | None:
        return rate(self.digitized_signed, self.resolved)

    @property
    def satisfaction_rate(self) -> float | None:
        return rate(self.resolved - self.unsatisfied, self.resolved)


FIELDS = fields(Figures)


@dataclass(frozen=True)
class MonthPoint:
    """One month of the on-time series."""

    period: Period
    resolved: int
    in_time: int
    pending_overdue: int

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.in_time, self.resolved + self.pending_overdue)


class VnDate(TruncDate):
    """The Vietnam-time day of a moment, as ``TruncDate(…, tzinfo=VN_TZ)`` (PostgreSQL:
    ``AT TIME ZONE 'Asia/Ho_Chi_Minh'``). On SQLite, whose stored moments are UTC text,
    SQLite's own ``date(…, '+7 hours')`` instead of Django's per-row Python function, ten
    times faster: Vietnam has kept UTC+7 without daylight saving time since 1975."""

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        sql, params = compiler.compile(self.lhs)
        return f"date({sql}, '+7 hours')", params


def _vn_day(field: str) -> VnDate:
    return VnDate(field, tzinfo=VN_TZ)


def early(prefix: str = "") -> Q:
    """Resolved on a Vietnam-time day before the due day."""
    return Q(LessThan(_vn_day(f"{prefix}resolved_at"), _vn_day(f"{prefix}due_at")))


def open_at(cut: datetime, prefix: str = "") -> Q:
    """Received before ``cut`` and not resolved by then."""
    return Q(**{f"{prefix}received_at__lt": cut}) & (
        Q(**{f"{prefix}resolved_at__isnull": True}) | Q(**{f"{prefix}resolved_at__gte": cut})
    )


def _in_play(dossiers: QuerySet[Dossier], start: datetime, end: datetime) -> QuerySet[Dossier]:
    """Dossiers received before ``end`` and not resolved before ``start``."""
    return dossiers.filter(received_at__lt=end).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=start)
    )


def _dossier_counts(
    dossiers: QuerySet[Dossier], period: Period, cut: datetime
) -> dict[Cell, dict[str, int]]:
    """One grouped query over the dossiers: every count but the events'."""
    start = period.start
    resolved = Q(resolved_at__gte=start, resolved_at__lt=cut)
    pending = open_at(cut)
    rows = (
        _in_play(dossiers, start, period.end)
        .values("office_id", "procedure_id")
        .annotate(
            received_new=Count("pk", filter=Q(received_at__gte=start)),
            carried_over=Count("pk", filter=Q(received_at__lt=start)),
            resolved=Count("pk", filter=resolved),
            resolved_early=Count("pk", filter=resolved & early()),
            resolved_late=Count("pk", filter=resolved & Q(resolved_at__gt=F("due_at"))),
            pending=Count("pk", filter=pending),
            pending_overdue=Count("pk", filter=pending & Q(due_at__lt=cut)),
            rated=Count("pk", filter=resolved & Q(rating__isnull=False)),
            unsatisfied=Count("pk", filter=resolved & Q(rating__score=Rating.Score.UNSATISFIED)),
        )
        .order_by()
    )
    found: dict[Cell, dict[str, int]] = {}
    for row in rows:
        found[(row["office_id"], row["procedure_id"])] = {
            "received_new": row["received_new"],
            "carried_over": row["carried_over"],
            "resolved_early": row["resolved_early"],
            "resolved_on_time": row["resolved"] - row["resolved_early"] - row["resolved_late"],
            "resolved_late": row["resolved_late"],
            "pending_in_time": row["pending"] - row["pending_overdue"],
            "pending_overdue": row["pending_overdue"],
            "rated": row["rated"],
            "unsatisfied": row["unsatisfied"],
        }
    return found


def _digitized_counts(
    dossiers: QuerySet[Dossier], period: Period, cut: datetime
) -> dict[Cell, int]:
    """One grouped query: the dossiers resolved in the period with a signed document (a
    semi-join the database hashes, rather than a lookup per dossier)."""
    signed = Document.objects.filter(dossier_id=OuterRef("pk"), state__in=SIGNED_STATES)
    rows = (
        dossiers.filter(resolved_at__gte=period.start, resolved_at__lt=cut)
        .filter(Exists(signed))
        .values("office_id", "procedure_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(row["office_id"], row["procedure_id"]): row["n"] for row in rows}


def _event_counts(
    events: QuerySet[Event], period: Period, cut: datetime
) -> dict[Cell, dict[str, int]]:
    """One grouped query over the events: supplement requests, transfers, apology letters."""
    rows = (
        events.filter(kind__in=(SUPPLEMENT, TRANSFER, APOLOGY), at__gte=period.start, at__lt=cut)
        .values("dossier__office_id", "dossier__procedure_id")
        .annotate(
            supplement_requests=Count("pk", filter=Q(kind=SUPPLEMENT)),
            transfers=Count("pk", filter=Q(kind=TRANSFER)),
            apologies=Count("pk", filter=Q(kind=APOLOGY)),
        )
        .order_by()
    )
    return {
        (row["dossier__office_id"], row["dossier__procedure_id"]): {
            "supplement_requests": row["supplement_requests"],
            "transfers": row["transfers"],
            "apologies": row["apologies"],
        }
        for row in rows
    }


def cells(
    dossiers: QuerySet[Dossier], events: QuerySet[Event], period: Period, now: datetime
) -> dict[Cell, Figures]:
    """The figures of ``period`` per office and procedure, in three grouped queries.

    ``dossiers`` and ``events`` are already scoped to the offices asked for.
    """
    cut = period.cutoff(now)
    counted = _dossier_counts(dossiers, period, cut)
    for cell, signed in _digitized_counts(dossiers, period, cut).items():
        counted.setdefault(cell, {})["digitized_signed"] = signed
    for cell, counts in _event_counts(events, period, cut).items():
        counted.setdefault(cell, {}).update(counts)
    return {cell: Figures(**counts) for cell, counts in counted.items()}


@contextmanager
def reporting() -> Iterator[None]:
    """Run the statistics' queries in one read-only transaction; on PostgreSQL without JIT
    compilation (compiling these filtered aggregates costs more than it saves: half a second
    for a province's year) and with room to sort and hash a province's groups in memory."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def month_series(dossiers: QuerySet[Dossier], year: Period, now: datetime) -> list[MonthPoint]:
    """The on-time figures of each month of ``year`` begun by ``now``, in one query.

    Each month is counted as its own period: resolved in the month (and in time), and
    pending past due at the month's end (or now, for the running month).
    """
    months = [month for month in year.months() if month.start <= now]
    if not months:
        return []
    aggregates: dict[str, Any] = {}
    for index, month in enumerate(months):
        cut = month.cutoff(now)
        resolved = Q(resolved_at__gte=month.start, resolved_at__lt=cut)
        aggregates[f"resolved_{index}"] = Count("pk", filter=resolved)
        aggregates[f"in_time_{index}"] = Count(
            "pk", filter=resolved & Q(resolved_at__lte=F("due_at"))
        )
        aggregates[f"overdue_{index}"] = Count("pk", filter=open_at(cut) & Q(due_at__lt=cut))
    totals = _in_play(dossiers, year.start, months[-1].cutoff(now)).aggregate(**aggregates)
    return [
        MonthPoint(
            period=month,
            resolved=totals[f"resolved_{index}"],
            in_time=totals[f"in_time_{index}"],
            pending_overdue=totals[f"overdue_{index}"],
        )
        for index, month in enumerate(months)
    ]
