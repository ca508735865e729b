"""The statistics page's content: the person's offices rolled up (commune into district into
province), the figures by field, procedure, official and month, and the overdue dossiers."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from backoffice.models import MonthFigures
from backoffice.services.dossier_list import overdue
from backoffice.services.people import DOSSIER_ROLES, STATISTICS_ROLES, Person
from backoffice.services.periods import Period
from backoffice.services.statistics import Cell, Figures, MonthPoint, reporting
from backoffice.services.statistics_counting import Scope, count
from backoffice.services.statistics_officials import OfficialFigures, officials
from core.vntime import to_vn
from dossiers.models import CalendarDay, Dossier, Event, Procedure
from dossiers.services.access import office_ids, offices, scope

__all__ = [
    "LINE_OFFICE",
    "LINE_OWN",
    "LINE_TOTAL",
    "OFFICIALS_ON_PAGE",
    "KeyFigures",
    "Line",
    "OfficeLine",
    "OfficeTree",
    "OverdueRow",
    "Report",
    "build_report",
    "chosen_offices",
    "key_figures",
    "office_tree",
    "overdue_rows",
]

LINE_TOTAL = "total"
"""An office with offices below it: its figures and theirs together."""

LINE_OWN = "own"
"""The dossiers of an office with offices below it, its own only."""

LINE_OFFICE = "office"
"""An office with no office below it (in what the person may see)."""


@dataclass(frozen=True)
class OfficeTree:
    """The offices whose statistics a person may see, as a tree (names sorted)."""

    names: dict[int, str]
    children: dict[int, list[int]]
    roots: list[int]
    """The offices whose parent the person may not see (a province, or a head's office)."""

    def under(self, office_id: int) -> list[int]:
        """The office and every office below it, parents before their children."""
        found = [office_id]
        for child in self.children.get(office_id, []):
            found.extend(self.under(child))
        return found


def office_tree(user: Person) -> OfficeTree:
    """The offices where the person holds a statistics role (an administrator's with every
    office below), in one query."""
    rows = list(
        offices(user, *STATISTICS_ROLES).order_by("name", "pk").values_list("pk", "name", "parent")
    )
    names = {pk: name for pk, name, _parent in rows}
    children: dict[int, list[int]] = defaultdict(list)
    roots: list[int] = []
    for pk, _name, parent in rows:
        if parent in names:
            children[parent].append(pk)
        else:
            roots.append(pk)
    return OfficeTree(names=names, children=dict(children), roots=roots)


@dataclass(frozen=True)
class OfficeLine:
    office_id: int
    name: str
    depth: int
    """0 for the offices at the top of the report, 1 for those below them, …"""

    kind: str
    """:data:`LINE_TOTAL`, :data:`LINE_OWN` or :data:`LINE_OFFICE`."""

    figures: Figures


@dataclass(frozen=True)
class Line:
    """A field or a procedure with its figures."""

    label: str
    figures: Figures


@dataclass(frozen=True)
class Report:
    period: Period
    scope_name: str
    """The office reported on, or "all your offices"."""

    total: Figures
    offices: list[OfficeLine]
    fields: list[Line]
    procedures: list[Line]
    officials: list[OfficialFigures] | None
    """None when not counted (too many offices for the page: see :func:`build_report`)."""

    months: list[MonthPoint]
    """The on-time series: every month of the period's year begun by now."""


def _sum(figures: Iterable[Figures]) -> Figures:
    total = Figures()
    for item in figures:
        total = total + item
    return total


def _office_lines(
    tree: OfficeTree, tops: list[int], own: dict[int, Figures]
) -> tuple[list[OfficeLine], Figures]:
    """Each office's own figures rolled up into the offices above it: every parent's line
    holds its own figures plus its children's totals."""
    lines: list[OfficeLine] = []

    def walk(office_id: int, depth: int) -> Figures:
        mine = own.get(office_id, Figures())
        below = tree.children.get(office_id, [])
        if not below:
            lines.append(OfficeLine(office_id, tree.names[office_id], depth, LINE_OFFICE, mine))
            return mine
        at = len(lines)
        lines.append(OfficeLine(office_id, tree.names[office_id], depth, LINE_OWN, mine))
        total = mine + _sum(walk(child, depth + 1) for child in below)
        lines.insert(at, OfficeLine(office_id, tree.names[office_id], depth, LINE_TOTAL, total))
        return total

    grand = _sum(walk(top, 0) for top in tops)
    return lines, grand


def _by_procedure(found: dict[Cell, Figures]) -> tuple[list[Line], list[Line]]:
    """The figures by field and by procedure: the same national procedure (same code and
    name) in several offices is one line."""
    info = {
        pk: (field, code, name)
        for pk, field, code, name in Procedure.objects.filter(
            pk__in={procedure for _office, procedure in found}
        ).values_list("pk", "field", "code", "name")
    }
    by_field: dict[str, Figures] = defaultdict(Figures)
    by_procedure: dict[tuple[str, str, str], Figures] = defaultdict(Figures)
    for (_office, procedure), figures in found.items():
        field, code, name = info[procedure]
        by_field[field] += figures
        by_procedure[(field, code, name)] += figures
    unfiled = _("(Chưa phân lĩnh vực)")
    fields = [
        Line(field or unfiled, by_field[field]) for field in sorted(by_field, key=_blank_last)
    ]
    procedures = [
        Line(f"{code} — {name}", by_procedure[(field, code, name)])
        for field, code, name in sorted(
            by_procedure, key=lambda key: (_blank_last(key[0]), key[1], key[2])
        )
    ]
    return fields, procedures


def _blank_last(field: str) -> tuple[bool, str]:
    return (not field, field.casefold())


def chosen_offices(tree: OfficeTree, office_id: int | None) -> list[int]:
    """The offices at the top of the report: the one asked for, or all the person's.

    Raises LookupError for an office the person may not see (the page answers 404).
    """
    if office_id is None:
        return list(tree.roots)
    if office_id not in tree.names:
        raise LookupError(office_id)
    return [office_id]


def _scoped(user: Person, ids: list[int]) -> Scope:
    """The dossiers, events and stored months of the offices ``ids``, within the person's
    scope.

    When ``ids`` are all the person's offices, the scope's own filter is the only one: the
    same list of offices twice would make PostgreSQL think it keeps a tenth of the rows it
    does and read a province's dossiers one by one through an index, four times slower.
    """
    roles = STATISTICS_ROLES
    dossiers = scope(Dossier.objects.all(), user, *roles)
    events = scope(Event.objects.all(), user, *roles, via="dossier__office")
    stored = scope(MonthFigures.objects.all(), user, *roles, via="office_id")
    if office_ids(user, *roles) != frozenset(ids):
        dossiers = dossiers.filter(office_id__in=ids)
        events = events.filter(dossier__office_id__in=ids)
        stored = stored.filter(office_id__in=ids)
    return Scope(dossiers=dossiers, events=events, stored=stored)


OFFICIALS_ON_PAGE = 12
"""Most offices whose officials the page lists (a commune, a district with its communes): a
province's hundreds of officials are read office by office, or in the XLSX export."""


def build_report(
    user: Person,
    period: Period,
    now: datetime,
    office_id: int | None = None,
    tree: OfficeTree | None = None,
    with_officials: bool | None = None,
) -> Report:
    """The statistics of ``period`` for the office asked for (with every office below it
    that the person may see), or for all the person's offices: a dozen queries however many
    dossiers there are (``tree``, the person's :func:`office_tree`, saves one), and the
    closed months counted again when something in them changed
    (``backoffice.services.statistics_counting``).

    ``with_officials``: count per official (True), not (False), or when the report covers
    at most :data:`OFFICIALS_ON_PAGE` offices (None).

    Raises LookupError for an office the person may not see.
    """
    tree = tree or office_tree(user)
    tops = chosen_offices(tree, office_id)
    ids = [pk for top in tops for pk in tree.under(top)]
    if with_officials is None:
        with_officials = len(ids) <= OFFICIALS_ON_PAGE
    rows = _scoped(user, ids)
    counted = count(rows, period, now)
    with reporting():
        people = officials(rows.events, period, now) if with_officials else None
    found = counted.cells
    own: dict[int, Figures] = defaultdict(Figures)
    for (office, _procedure), figures in found.items():
        own[office] += figures
    lines, total = _office_lines(tree, tops, own)
    fields, procedures = _by_procedure(found)
    return Report(
        period=period,
        scope_name=tree.names[tops[0]] if len(tops) == 1 else _("Tất cả cơ quan của bạn"),
        total=total,
        offices=lines,
        fields=fields,
        procedures=procedures,
        officials=people,
        months=counted.months,
    )


@dataclass(frozen=True)
class OverdueRow:
    dossier: Dossier
    working_days_late: int
    """Working days past the due date, counted to today."""

    openable: bool
    """Whether the person may open the dossier's page (heads may; administrators may not)."""


def overdue_rows(
    user: Person,
    now: datetime,
    office_id: int | None = None,
    limit: int = 20,
    tree: OfficeTree | None = None,
) -> tuple[list[OverdueRow], int]:
    """The open dossiers past their due date, the longest overdue first (at most ``limit``),
    and how many there are."""
    tree = tree or office_tree(user)
    ids = [pk for top in chosen_offices(tree, office_id) for pk in tree.under(top)]
    late = overdue(_scoped(user, ids).dossiers, now)
    with reporting():
        # two reads of the open dossiers' index (their due moment and office): the count, then
        # the first rows; one query counting over a window would fetch every overdue dossier
        count = late.count()
        shown = list(late.select_related("office", "procedure").order_by("due_at", "pk")[:limit])
    late_by = _working_days_late(now, [dossier.due_at for dossier in shown])
    may_open = office_ids(user, *DOSSIER_ROLES)
    return [
        OverdueRow(
            dossier=dossier,
            working_days_late=days,
            openable=may_open is None or dossier.office_id in may_open,
        )
        for dossier, days in zip(shown, late_by, strict=True)
    ], count


def _working_days_late(now: datetime, dues: list[datetime]) -> list[int]:
    """``dossiers.calendar.working_days_late(now, due)`` for each due moment past, from one
    walk over the calendar since the oldest (a dossier years overdue costs no more)."""
    if not dues:
        return []
    calendar = CalendarDay.work_calendar()
    today = to_vn(now).date()
    day = min(to_vn(due).date() for due in dues)
    worked: list[date] = []
    while day < today:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            worked.append(day)
    return [
        max(len(worked) - bisect_right(worked, to_vn(due).date()), 1) if now > due else 0
        for due in dues
    ]


@dataclass(frozen=True)
class KeyFigures:
    """What the head's start page shows: this month so far, over all their offices."""

    period: Period
    figures: Figures


def key_figures(user: Person, now: datetime) -> KeyFigures:
    """The running month's figures over every office the person sees statistics of."""
    local = to_vn(now)
    period = Period(local.year, month=local.month)
    tree = office_tree(user)
    ids = [pk for top in tree.roots for pk in tree.under(top)]
    found = count(_scoped(user, ids), period, now, series=False).cells
    return KeyFigures(period=period, figures=_sum(found.values()))
