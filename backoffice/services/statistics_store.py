"""Closed months counted once: their flows per office and procedure, stored and summed.

A month's :class:`~backoffice.models.MonthFigures` hold what happened in it (received,
resolved and how, rated, digitized, came overdue, the events); what is open at the edge of a
month is the sum of every earlier month's flows: received − resolved, and came overdue −
resolved late. That holds for every dossier received no later than it was resolved and due;
the few others (:func:`~backoffice.services.statistics.odd`) are never stored.

:func:`refresh` counts the closed months that are missing (never counted, counted by an
older version of these rules, or changed since: ``statistics_triggers`` records what), a few
months per transaction: on PostgreSQL the transaction first locks the changes' table, which
every trigger locks too, so no change slips between the count and its storing (and two
counts do not run at once); on SQLite the transaction holds the database's write lock from
its first statement.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DateField, F, Func, IntegerField, Min, Q, QuerySet, Sum, Value

from backoffice.models import FLOWS, CountedChange, MonthFigures, StoredMonth
from backoffice.services import statistics_triggers
from backoffice.services.periods import Period
from backoffice.services.statistics import (
    APOLOGY,
    COUNTED_EVENTS,
    SUPPLEMENT,
    TRANSFER,
    Cell,
    Counts,
    early,
    odd,
    rated,
    signed,
    unsatisfied,
)
from core.vntime import VN_TZ, to_vn
from dossiers.models import Dossier, Event

__all__ = [
    "FIGURES_VERSION",
    "MonthTotals",
    "VnMonth",
    "month_of",
    "month_start",
    "next_month",
    "refresh",
    "stored_counts",
    "stored_month_totals",
]

FIGURES_VERSION = 1
"""Raise it when what a stored month counts changes: every month is then counted again."""

COUNTED_FLOWS = tuple(flow for flow in FLOWS if flow not in {"received", "came_overdue"})
"""The flows a period adds up from its first month to its cut; what was received and what
came overdue count instead in what is open at the period's edges."""

MONTHS_PER_TRANSACTION = 6
"""Months counted in one transaction, which writers of dossiers wait for on PostgreSQL."""


class VnMonth(Func):
    """The first day of a moment's Vietnam-time month, as a date (Vietnam keeps UTC+7 with no
    daylight saving time: SQLite shifts its stored UTC text by seven hours)."""

    output_field = DateField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(DATE_TRUNC('month', {sql} AT TIME ZONE 'Asia/Ho_Chi_Minh'))::date", params

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date({sql}, '+7 hours', 'start of month')", params


def month_of(moment: datetime) -> date:
    """The first day of the moment's month, in Vietnam time."""
    local = to_vn(moment)
    return date(local.year, local.month, 1)


def month_start(month: date) -> datetime:
    """Midnight (Vietnam time) on the month's first day."""
    return datetime.combine(month, time.min, tzinfo=VN_TZ)


def next_month(month: date) -> date:
    """The first day of the month after."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _first_month() -> date | None:
    """The month of the earliest moment anything is stored for (two index lookups)."""
    first = [
        Dossier.objects.aggregate(first=Min("received_at"))["first"],
        Event.objects.filter(kind__in=COUNTED_EVENTS)
        .order_by("at")
        .values_list("at", flat=True)
        .first(),
    ]
    found = [moment for moment in first if moment is not None]
    return month_of(min(found)) if found else None


def _dossier_months(changed: list[tuple[int, bool]]) -> set[date]:
    """The resolution months of the dossiers a trigger recorded, and their counted events'
    months for those recorded ``with_events`` (moved to another office or procedure)."""
    ids = {dossier for dossier, _events in changed}
    found = set(
        Dossier.objects.filter(pk__in=ids, resolved_at__isnull=False)
        .values_list(VnMonth("resolved_at"), flat=True)
        .distinct()
    )
    moved = {dossier for dossier, events in changed if events}
    if moved:
        found |= set(
            Event.objects.filter(dossier_id__in=moved, kind__in=COUNTED_EVENTS)
            .values_list(VnMonth("at"), flat=True)
            .distinct()
        )
    return found


def refresh(now: datetime) -> None:
    """Count again every closed month (before ``now``'s) not stored as the data are now:
    never counted, counted by an older version of these rules, or changed since
    (:class:`~backoffice.models.CountedChange`); the triggers installed again first if a
    migration dropped any (then every month is counted again)."""
    if statistics_triggers.missing(connection):
        statistics_triggers.install(connection)
    running = month_of(now)
    stored = dict(StoredMonth.objects.values_list("month", "version"))
    changes = list(CountedChange.objects.values_list("pk", "month", "dossier_id", "with_events"))
    changed = {month for _pk, month, _dossier, _events in changes if month is not None}
    dossiers = [(dossier, events) for _pk, _month, dossier, events in changes if dossier]
    if dossiers:
        changed |= _dossier_months(dossiers)
    fresh = {month for month, version in stored.items() if version == FIGURES_VERSION} - changed
    starts = [month for month in (_first_month(), min(stored, default=None)) if month]
    runs: list[list[date]] = []
    month = min(starts, default=running)
    while month < running:
        if month not in fresh:
            if (
                runs
                and len(runs[-1]) < MONTHS_PER_TRANSACTION
                and next_month(runs[-1][-1]) == month
            ):
                runs[-1].append(month)
            else:
                runs.append([month])
        month = next_month(month)
    # months stored by a call with a later clock, changed since: no longer stored
    later = {month for month in changed if month >= running and month in stored}
    done = [pk for pk, *_rest in changes]
    for index, run in enumerate(runs):
        last = index == len(runs) - 1
        _count(run[0], next_month(run[-1]), done if last else [], later if last else set())
    if not runs and (done or later):
        with transaction.atomic():
            CountedChange.objects.filter(pk__in=done).delete()
            StoredMonth.objects.filter(month__in=later).delete()


def _part(
    rows: QuerySet[Any], moment: str, office: str, procedure: str, **counts: Any
) -> QuerySet[Any]:
    """One source of flows grouped by cell and the Vietnam month of ``moment``; every flow
    it does not count is 0, so the parts line up in a ``UNION ALL``."""
    zero = Value(0, output_field=IntegerField())
    grouped: QuerySet[Any] = rows.values(
        month=VnMonth(moment), cell_office=F(office), cell_procedure=F(procedure)
    )
    counted: QuerySet[Any] = grouped.annotate(**{n: counts.get(n, zero) for n in FLOWS})
    return counted.order_by()


def _flows(start: datetime, end: datetime) -> QuerySet[Any]:
    """The flows of the months from ``start`` to ``end``, four grouped parts in one query."""
    kept = Dossier.objects.exclude(odd())
    cell = ("office_id", "procedure_id")
    resolved = kept.filter(resolved_at__gte=start, resolved_at__lt=end)
    came_due = kept.filter(due_at__gte=start, due_at__lt=end).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gt=F("due_at"))
    )
    events = Event.objects.filter(kind__in=COUNTED_EVENTS, at__gte=start, at__lt=end)
    return _part(
        kept.filter(received_at__gte=start, received_at__lt=end),
        "received_at",
        *cell,
        received=Count("pk"),
    ).union(
        _part(
            resolved,
            "resolved_at",
            *cell,
            resolved=Count("pk"),
            resolved_early=Count("pk", filter=early()),
            resolved_late=Count("pk", filter=Q(resolved_at__gt=F("due_at"))),
            rated=Count("pk", filter=rated()),
            unsatisfied=Count("pk", filter=unsatisfied()),
            digitized_signed=Count("pk", filter=signed()),
        ),
        _part(came_due, "due_at", *cell, came_overdue=Count("pk")),
        _part(
            events,
            "at",
            "dossier__office_id",
            "dossier__procedure_id",
            supplement_requests=Count("pk", filter=Q(kind=SUPPLEMENT)),
            transfers=Count("pk", filter=Q(kind=TRANSFER)),
            apologies=Count("pk", filter=Q(kind=APOLOGY)),
        ),
        all=True,
    )


def _count(first: date, after: date, done: list[int], later: set[date]) -> None:
    """Count the months from ``first`` to before ``after`` again and mark them stored, in one
    transaction; remove the changes ``done`` (read before it began) and the markers of the
    ``later`` months."""
    quote = connection.ops.quote_name
    month = quote("month")
    changes, markers, figures = (
        quote(model._meta.db_table) for model in (CountedChange, StoredMonth, MonthFigures)
    )
    keys = f"{month}, {quote('cell_office')}, {quote('cell_procedure')}"
    columns = ", ".join(quote(name) for name in ("month", "office_id", "procedure_id", *FLOWS))
    sums = ", ".join(f"SUM({quote(name)})" for name in FLOWS)
    select, params = _flows(month_start(first), month_start(after)).query.sql_with_params()
    insert = f"INSERT INTO {figures} ({columns}) SELECT {keys}, {sums} FROM ({select}) f"  # noqa: S608 - ORM SQL
    bounds = [connection.ops.adapt_datefield_value(day) for day in (first, after)]
    months = []
    while first < after:
        months.append(StoredMonth(month=first, version=FIGURES_VERSION))
        first = next_month(first)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {changes} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute("SET LOCAL jit = off")
        # on SQLite this first statement, a write, takes the write lock before anything is read
        for table in (markers, figures):
            where = f"{month} >= %s AND {month} < %s"
            cursor.execute(f"DELETE FROM {table} WHERE {where}", bounds)  # noqa: S608 - model names
        cursor.execute(f"{insert} GROUP BY {keys}", params)
        StoredMonth.objects.bulk_create(months)
        CountedChange.objects.filter(pk__in=done).delete()
        StoredMonth.objects.filter(month__in=later).delete()


def _sum(expression: Any, within: Q) -> Sum:
    return Sum(expression, filter=within, default=0)


def stored_counts(
    stored: QuerySet[MonthFigures], period: Period, cut: datetime, running: date
) -> dict[Cell, Counts]:
    """The counts of ``period`` (counted at ``cut``) that the stored months before
    ``running`` hold, in one grouped query over them.

    Flows of the period's stored months; what was open when the period began (or when the
    running month began, if later) and at ``cut`` (or when the running month began, if
    earlier), as sums of every earlier month.
    """
    first = month_of(period.start)
    flows_end = min(month_of(period.end), running)
    cut_month = min(month_of(cut), running)
    carried_until = min(first, running)
    in_period = Q(month__gte=first, month__lt=flows_end)
    counted = Q(month__gte=first, month__lt=cut_month)
    open_before = Q(month__lt=cut_month)
    # named apart from the model's columns (``resolved_``), the trailing "_" dropped after
    aggregates = {
        "received_new": _sum("received", in_period),
        "carried_over": _sum(F("received") - F("resolved"), Q(month__lt=carried_until)),
        **{f"{name}_": _sum(name, counted) for name in COUNTED_FLOWS},
        "pending": _sum(F("received") - F("resolved"), open_before),
        "pending_overdue": _sum(F("came_overdue") - F("resolved_late"), open_before),
    }
    names = [name.removesuffix("_") for name in aggregates]
    rows = (
        stored.filter(month__lt=max(flows_end, cut_month))
        .values("office_id", "procedure_id")
        .annotate(**aggregates)
        .order_by()
        .values_list("office_id", "procedure_id", *aggregates)
    )
    return {(row[0], row[1]): dict(zip(names, row[2:], strict=True)) for row in rows}


MonthTotals = dict[date, tuple[int, int, int]]
"""Per stored month: resolved, resolved late, came overdue − resolved late."""


def stored_month_totals(stored: QuerySet[MonthFigures], before: date) -> MonthTotals:
    """Every stored month before ``before``, the offices' flows added up (one query)."""
    rows = (
        stored.filter(month__lt=before)
        .values("month")
        .annotate(
            resolved_=Sum("resolved"),
            late=Sum("resolved_late"),
            gap=Sum(F("came_overdue") - F("resolved_late")),
        )
        .order_by("month")
    )
    return {row["month"]: (row["resolved_"], row["late"], row["gap"]) for row in rows}
