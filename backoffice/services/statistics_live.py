"""The running month counted from the dossiers: what the stored months do not hold yet.

Every count here starts at the running month's first moment ``L`` (or later), so one
grouped query over the dossiers received, resolved or due since then answers it (three
index ranges); the stored months before ``L`` hold the rest
(``backoffice.services.statistics_store``). What is open at a moment after ``L`` is what
was open at ``L`` (stored) plus the dossiers received since, minus those resolved since;
overdue likewise, with the dossiers that came due since (still open or resolved late) and
those resolved late since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from backoffice.services.periods import Period
from backoffice.services.statistics import Cell, Counts, early, rated, signed, unsatisfied
from backoffice.services.statistics_store import month_of, month_start, next_month
from dossiers.models import Dossier

__all__ = ["RunningPoint", "live_counts"]


@dataclass(frozen=True)
class RunningPoint:
    """The running month's on-time figures since ``L``, the offices added up."""

    resolved: int = 0
    in_time: int = 0
    overdue_change: int = 0
    """Came overdue since ``L`` (still open or resolved late) − resolved late since ``L``."""


def _between(field: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _came_overdue(start: datetime, end: datetime) -> Q:
    """Due from ``start`` to ``end``, and then still open or resolved after the due moment."""
    return _between("due_at", start, end) & (
        Q(resolved_at__isnull=True) | Q(resolved_at__gt=F("due_at"))
    )


def _late(start: datetime, end: datetime) -> Q:
    return _between("resolved_at", start, end) & Q(resolved_at__gt=F("due_at"))


def _aggregates(
    period: Period, cut: datetime, running: datetime, now: datetime, series: bool
) -> dict[str, Any]:
    """The filtered counts needed, by name; none when the stored months hold everything."""
    found: dict[str, Any] = {}
    since = max(period.start, running)
    if period.end > running:
        found["received_new"] = Count("pk", filter=_between("received_at", since, period.end))
    if period.start > running:
        found["carried_in"] = Count("pk", filter=_between("received_at", running, period.start))
        found["carried_out"] = Count("pk", filter=_between("resolved_at", running, period.start))
    if cut > running:
        resolved = _between("resolved_at", since, cut)
        found |= {
            "resolved": Count("pk", filter=resolved),
            "resolved_early": Count("pk", filter=resolved & early()),
            "resolved_late": Count("pk", filter=resolved & Q(resolved_at__gt=F("due_at"))),
            "rated": Count("pk", filter=resolved & rated()),
            "unsatisfied": Count("pk", filter=resolved & unsatisfied()),
            "digitized_signed": Count("pk", filter=resolved & signed()),
            "pending_in": Count("pk", filter=_between("received_at", running, cut)),
            "pending_out": Count("pk", filter=_between("resolved_at", running, cut)),
            "overdue_in": Count("pk", filter=_came_overdue(running, cut)),
            "overdue_out": Count("pk", filter=_late(running, cut)),
        }
    if series:
        resolved = _between("resolved_at", running, now)
        found |= {
            "series_resolved": Count("pk", filter=resolved),
            "series_in_time": Count("pk", filter=resolved & Q(resolved_at__lte=F("due_at"))),
            "series_overdue_in": Count("pk", filter=_came_overdue(running, now)),
            "series_overdue_out": Count("pk", filter=_late(running, now)),
        }
    return found


def live_counts(
    dossiers: QuerySet[Dossier],
    period: Period,
    cut: datetime,
    running: datetime,
    now: datetime,
    series: bool,
) -> tuple[dict[Cell, Counts], RunningPoint]:
    """The counts of ``period`` (counted at ``cut``) since ``running``, the running month's
    first moment, per office and procedure; and, with ``series``, the running month's point
    of the on-time series (to ``now``). One grouped query, none when nothing is needed.

    ``dossiers`` are those the stored months count (not the odd ones), in scope.
    """
    aggregates = _aggregates(period, cut, running, now, series)
    if not aggregates:
        return {}, RunningPoint()
    # every count's moments lie from ``running`` to the period's end or the running month's;
    # bounded on both sides, SQLite reads the three ranges by their indexes too
    until = max(period.end, month_start(next_month(month_of(now))))
    since = (
        _between("received_at", running, until)
        | _between("resolved_at", running, until)
        | _between("due_at", running, until)
    )
    rows = (
        dossiers.filter(since).values("office_id", "procedure_id").annotate(**aggregates).order_by()
    )
    found: dict[Cell, Counts] = {}
    point = [0, 0, 0]
    for row in rows:
        got = {name: row.get(name, 0) for name in aggregates}
        counts = {
            name: got[name]
            for name in (
                "received_new",
                "resolved",
                "resolved_early",
                "resolved_late",
                "rated",
                "unsatisfied",
                "digitized_signed",
            )
            if name in got
        }
        if "carried_in" in got:
            counts["carried_over"] = got["carried_in"] - got["carried_out"]
        if "pending_in" in got:
            counts["pending"] = got["pending_in"] - got["pending_out"]
            counts["pending_overdue"] = got["overdue_in"] - got["overdue_out"]
        found[(row["office_id"], row["procedure_id"])] = counts
        if series:
            point[0] += got["series_resolved"]
            point[1] += got["series_in_time"]
            point[2] += got["series_overdue_in"] - got["series_overdue_out"]
    return found, RunningPoint(*point)
