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

Closed months are not counted again at each view: ``statistics_counting`` adds a period's
stored months (``statistics_store``), the running month (``statistics_live``) and the few
:func:`odd` dossiers, counted here from the dossiers themselves (:func:`dossier_counts`,
:func:`month_series_of`) as every dossier used to be.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import add
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.db.models.lookups import Exact, IsNull, LessThan

from backoffice.services.periods import Period
from core.vntime import VN_TZ
from dossiers.models import Document, DocumentState, Dossier, Event
from publishing.models import Rating

__all__ = [
    "APOLOGY",
    "COUNTED_EVENTS",
    "RAW",
    "SIGNED_STATES",
    "SUPPLEMENT",
    "TRANSFER",
    "Cell",
    "Counts",
    "Figures",
    "MonthPoint",
    "add_counts",
    "dossier_counts",
    "early",
    "event_counts",
    "month_series_of",
    "odd",
    "open_at",
    "outcomes",
    "rate",
    "rated",
    "reporting",
    "signed",
    "to_figures",
    "unsatisfied",
]

SUPPLEMENT = "supplement_requested"
TRANSFER = "transferred"
APOLOGY = "apology_issued"
COUNTED_EVENTS = (SUPPLEMENT, TRANSFER, APOLOGY)
SIGNED_STATES = (DocumentState.SIGNED, DocumentState.PUBLISHED, DocumentState.DELIVERED)
"""A dossier with a document in one of these states has a digitized, signed result."""

Cell = tuple[int, int]
"""(office id, procedure id): the finest grouping the database returns."""

RAW = (
    "received_new",
    "carried_over",
    "resolved",
    "resolved_early",
    "resolved_late",
    "pending",
    "pending_overdue",
    "rated",
    "unsatisfied",
    "digitized_signed",
    "supplement_requests",
    "transfers",
    "apologies",
)
"""The counts the queries return, from which :func:`to_figures` derives the figures (on
time = resolved − early − late; pending within time = pending − overdue)."""

Counts = dict[str, int]


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
        # the instances' dictionaries hold the fields in their order: a report adds thousands
        return Figures(*map(add, vars(self).values(), vars(other).values()))

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


def outcomes(counts: Mapping[str, int]) -> dict[str, int]:
    """Resolved early, on time and late, pending in time and overdue, from the counts of
    ``resolved``, ``resolved_early``, ``resolved_late``, ``pending`` and ``pending_overdue``
    (on time and in time are what the others leave)."""
    return {
        "resolved_early": counts["resolved_early"],
        "resolved_on_time": counts["resolved"] - counts["resolved_early"] - counts["resolved_late"],
        "resolved_late": counts["resolved_late"],
        "pending_in_time": counts["pending"] - counts["pending_overdue"],
        "pending_overdue": counts["pending_overdue"],
    }


def to_figures(counts: Counts) -> Figures:
    """The figures of :data:`RAW` counts (a missing count is 0)."""
    got = {name: counts.get(name, 0) for name in RAW}
    return Figures(
        received_new=got["received_new"],
        carried_over=got["carried_over"],
        **outcomes(got),
        supplement_requests=got["supplement_requests"],
        transfers=got["transfers"],
        apologies=got["apologies"],
        digitized_signed=got["digitized_signed"],
        rated=got["rated"],
        unsatisfied=got["unsatisfied"],
    )


def add_counts(into: dict[Cell, Counts], found: dict[Cell, Counts]) -> None:
    """Add ``found`` into ``into``, cell by cell and count by count."""
    for cell, counts in found.items():
        mine = into.setdefault(cell, {})
        for name, value in counts.items():
            mine[name] = mine.get(name, 0) + value


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


def odd() -> Q:
    """Dossiers resolved or due before they were received: counted from the dossiers every
    time (a partial index finds them), never stored by month (``statistics_store``)."""
    return Q(resolved_at__lt=F("received_at")) | Q(due_at__lt=F("received_at"))


def _score() -> Subquery:
    """The dossier's rating, looked up per row through the rating's unique index: the cost
    follows the dossiers counted (a month's), where a join would hash every rating ever given."""
    ratings = Rating.objects.filter(dossier=OuterRef("pk")).order_by()
    return Subquery(ratings.values("score")[:1])


def rated() -> Q:
    """The citizen rated the dossier."""
    return Q(IsNull(_score(), False))


def unsatisfied() -> Q:
    """The citizen rated the dossier "không hài lòng"."""
    return Q(Exact(_score(), Rating.Score.UNSATISFIED))


def signed() -> Q:
    """The dossier has a document signed, published or delivered: a per-row lookup in the
    signed documents' partial index (``EXISTS`` lets PostgreSQL hash every signed document of
    all time, a million rows, to count a month's)."""
    documents = Document.objects.filter(dossier_id=OuterRef("pk"), state__in=SIGNED_STATES)
    return Q(IsNull(Subquery(documents.order_by().values("dossier_id")[:1]), False))


def _in_play(dossiers: QuerySet[Dossier], start: datetime, end: datetime) -> QuerySet[Dossier]:
    """Dossiers received before ``end`` and not resolved before ``start``."""
    return dossiers.filter(received_at__lt=end).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=start)
    )


def dossier_counts(
    dossiers: QuerySet[Dossier], period: Period, cut: datetime
) -> dict[Cell, Counts]:
    """Every count of ``period`` but the events', read from the dossiers themselves in one
    grouped query (``statistics_counting`` uses it for the :func:`odd` dossiers only)."""
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
            rated=Count("pk", filter=resolved & rated()),
            unsatisfied=Count("pk", filter=resolved & unsatisfied()),
            digitized_signed=Count("pk", filter=resolved & signed()),
        )
        .order_by()
    )
    return {(row.pop("office_id"), row.pop("procedure_id")): row for row in rows}


def event_counts(events: QuerySet[Event], start: datetime, cut: datetime) -> dict[Cell, Counts]:
    """One grouped query over the events from ``start`` to ``cut``: supplement requests,
    transfers, apology letters, by their dossier's office and procedure."""
    rows = (
        events.filter(kind__in=COUNTED_EVENTS, at__gte=start, at__lt=cut)
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


def month_series_of(dossiers: QuerySet[Dossier], year: Period, now: datetime) -> list[MonthPoint]:
    """The on-time figures of each month of ``year`` begun by ``now``, read from the dossiers
    themselves in one query (``statistics_counting`` uses it for the :func:`odd` ones only).

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
