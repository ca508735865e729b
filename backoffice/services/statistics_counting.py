"""A period's figures put together: the stored months, the running month, the odd dossiers.

- The closed months come from their stored flows (``statistics_store``), counted again
  first if anything in them changed since: a past year is read from a few thousand rows per
  month instead of every dossier;
- the running month (when the period reaches it) from the dossiers received, resolved or
  due since it began (``statistics_live``), and its events;
- the few dossiers resolved or due before they were received, which the stored months leave
  out, from the dossiers themselves, as ``statistics`` has always counted them.

The three add up to what counting every dossier of the period gives, figure for figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from backoffice.models import MonthFigures
from backoffice.services.periods import Period
from backoffice.services.statistics import (
    Cell,
    Figures,
    MonthPoint,
    add_counts,
    dossier_counts,
    event_counts,
    month_series_of,
    odd,
    reporting,
    to_figures,
)
from backoffice.services.statistics_live import RunningPoint, live_counts
from backoffice.services.statistics_store import (
    month_of,
    month_start,
    refresh,
    stored_counts,
    stored_month_totals,
)
from dossiers.models import Dossier, Event

__all__ = ["Counted", "Scope", "count"]


@dataclass(frozen=True)
class Scope:
    """The rows of the offices reported on, each filtered the same way."""

    dossiers: QuerySet[Dossier]
    events: QuerySet[Event]
    stored: QuerySet[MonthFigures]


@dataclass(frozen=True)
class Counted:
    cells: dict[Cell, Figures]
    """The figures per office and procedure (cells with every figure 0 left out)."""

    months: list[MonthPoint]
    """The on-time series: every month of the period's year begun by now (empty when not
    asked for)."""


def count(scope: Scope, period: Period, now: datetime, *, series: bool = True) -> Counted:
    """The figures of ``period`` as counted at ``now``, and (``series``) its year's on-time
    series: the closed months stored first (:func:`refresh`), then a few grouped queries in
    one reporting transaction, however many dossiers there are."""
    refresh(now)
    cut = period.cutoff(now)
    running_month = month_of(now)
    running = month_start(running_month)
    year = period.whole_year()
    odd_dossiers = scope.dossiers.filter(odd())
    with reporting():
        counts = stored_counts(scope.stored, period, cut, running_month)
        live, point = live_counts(
            scope.dossiers.exclude(odd()),
            period,
            cut,
            running,
            now,
            series and year.start <= running < year.end,
        )
        add_counts(counts, live)
        if cut > running:
            add_counts(counts, event_counts(scope.events, max(period.start, running), cut))
        add_counts(counts, dossier_counts(odd_dossiers, period, cut))
        months = _series(scope, odd_dossiers, year, now, point) if series else []
    cells = {cell: to_figures(found) for cell, found in counts.items() if any(found.values())}
    return Counted(cells=cells, months=months)


def _series(
    scope: Scope, odd_dossiers: QuerySet[Dossier], year: Period, now: datetime, point: RunningPoint
) -> list[MonthPoint]:
    """Each month of ``year`` begun by ``now``: resolved in it (and in time), and overdue at
    its end (or now): the stored months' totals, the running month's ``point``, the odd
    dossiers' own series."""
    months = [month for month in year.months() if month.start <= now]
    if not months:
        return []
    running = month_of(now)
    totals = stored_month_totals(scope.stored, min(month_of(year.end), running))
    odd_points = month_series_of(odd_dossiers, year, now)
    found = []
    for month, other in zip(months, odd_points, strict=True):
        first = month_of(month.start)
        if first < running:
            resolved, late, _gap = totals.get(first, (0, 0, 0))
            in_time = resolved - late
            overdue = sum(gap for day, (_r, _l, gap) in totals.items() if day <= first)
        else:
            resolved, in_time = point.resolved, point.in_time
            overdue = sum(gap for _r, _l, gap in totals.values()) + point.overdue_change
        found.append(
            MonthPoint(
                period=month,
                resolved=resolved + other.resolved,
                in_time=in_time + other.in_time,
                pending_overdue=overdue + other.pending_overdue,
            )
        )
    return found
