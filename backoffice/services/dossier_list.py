"""The dossier list: filters, search by code, applicant and recognised text, bounded pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet

from backoffice.services.people import DOSSIER_ROLES, Person
from core.vntime import VN_TZ
from dossiers.models import Document, Dossier, DossierStep, StepKind
from dossiers.services.access import office_ids
from dossiers.services.search import fold

__all__ = [
    "DUE_OVERDUE",
    "DUE_SOON",
    "MAX_PAGE",
    "PAGE_SIZE",
    "QUERY_MAX",
    "SOON",
    "DossierPage",
    "Filters",
    "Row",
    "due_soon",
    "list_dossiers",
    "matching",
    "overdue",
    "scoped_dossiers",
]

PAGE_SIZE = 25
"""Dossiers on one page of the list."""

MAX_PAGE = 200
"""The last page a person may ask for: narrower filters beat paging through thousands."""

QUERY_MAX = 100
"""Longest search text taken; the rest is ignored."""

SOON = timedelta(days=2)
"""An open dossier due within this time is "due soon"."""

DUE_SOON = "soon"
DUE_OVERDUE = "overdue"


@dataclass(frozen=True)
class Filters:
    query: str = ""
    """Part of the code, of the applicant's name or of the recognised text; marks ignored."""

    status: str = ""
    """A ``Dossier.Status`` value, or empty for every status."""

    document_state: str = ""
    """A ``DocumentState``: dossiers with a document in that state; empty for any."""

    procedure_id: int | None = None
    """Only this procedure's dossiers."""

    received_from: date | None = None
    """Received on or after this day (Vietnam time)."""

    received_to: date | None = None
    """Received on or before this day (Vietnam time)."""

    due: str = ""
    """``"soon"``: open and due within :data:`SOON`; ``"overdue"``: open and past due."""

    page: int = 1
    """Page number, from 1, at most :data:`MAX_PAGE`."""


@dataclass(frozen=True)
class Row:
    dossier: Dossier
    overdue: bool
    """Still open and past its due date."""

    due_soon: bool
    """Still open and due within :data:`SOON`."""


@dataclass(frozen=True)
class DossierPage:
    rows: list[Row]
    page: int
    has_previous: bool
    has_next: bool


def scoped_dossiers(user: Person) -> QuerySet[Dossier]:
    """The dossiers of the offices where the person may see dossiers, and those another
    office transferred to one of them (liên thông) while they hold them."""
    ids = office_ids(user, *DOSSIER_ROLES)
    if ids is None:
        return Dossier.objects.all()
    held = DossierStep.objects.filter(
        dossier=OuterRef("pk"), kind=StepKind.TRANSFER, ended_at__isnull=True, office_id__in=ids
    )
    return Dossier.objects.filter(Q(office_id__in=ids) | Exists(held))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=VN_TZ)


def overdue(queryset: QuerySet[Dossier], now: datetime) -> QuerySet[Dossier]:
    """The open dossiers of ``queryset`` past their due date."""
    return queryset.filter(resolved_at__isnull=True, due_at__lt=now)


def due_soon(queryset: QuerySet[Dossier], now: datetime) -> QuerySet[Dossier]:
    """The open dossiers of ``queryset`` due from now to :data:`SOON` from now."""
    return queryset.filter(resolved_at__isnull=True, due_at__gte=now, due_at__lt=now + SOON)


def matching(queryset: QuerySet[Dossier], query: str) -> QuerySet[Dossier]:
    """The dossiers whose code, applicant or recognised text contains ``query``.

    Tone marks, đ and case are ignored ("nguyen van duc" finds "Nguyễn Văn Đức"); an
    empty query keeps every dossier.
    """
    query = query.strip()[:QUERY_MAX]
    folded = fold(query)
    if not folded:
        return queryset
    in_text = Document.objects.filter(dossier=OuterRef("pk"), text_folded__contains=folded)
    return queryset.filter(
        Q(code__icontains=query) | Q(applicant_folded__contains=folded) | Exists(in_text)
    )


def _filtered(queryset: QuerySet[Dossier], filters: Filters, now: datetime) -> QuerySet[Dossier]:
    queryset = matching(queryset, filters.query)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.document_state:
        queryset = queryset.filter(
            Exists(Document.objects.filter(dossier=OuterRef("pk"), state=filters.document_state))
        )
    if filters.procedure_id is not None:
        queryset = queryset.filter(procedure_id=filters.procedure_id)
    if filters.received_from is not None:
        queryset = queryset.filter(received_at__gte=_start_of(filters.received_from))
    if filters.received_to is not None:
        queryset = queryset.filter(
            received_at__lt=_start_of(filters.received_to + timedelta(days=1))
        )
    if filters.due == DUE_OVERDUE:
        return overdue(queryset, now).order_by("due_at", "pk")
    if filters.due == DUE_SOON:
        return due_soon(queryset, now).order_by("due_at", "pk")
    return queryset.order_by("-received_at", "-pk")


def rows(dossiers: list[Dossier], now: datetime) -> list[Row]:
    """Each dossier with whether it is overdue or due soon."""
    return [
        Row(
            dossier=d,
            overdue=d.resolved_at is None and d.due_at < now,
            due_soon=d.resolved_at is None and now <= d.due_at < now + SOON,
        )
        for d in dossiers
    ]


def list_dossiers(user: Person, filters: Filters, now: datetime) -> DossierPage:
    """One page of the person's dossiers that pass ``filters``.

    The work is bounded: no count of all matches, one row more than a page fetched to
    tell whether there is a next page, and no page beyond :data:`MAX_PAGE`.
    """
    page = min(max(filters.page, 1), MAX_PAGE)
    queryset = _filtered(scoped_dossiers(user), filters, now).select_related("procedure", "office")
    start = (page - 1) * PAGE_SIZE
    found = list(queryset[start : start + PAGE_SIZE + 1])
    return DossierPage(
        rows=rows(found[:PAGE_SIZE], now),
        page=page,
        has_previous=page > 1,
        has_next=len(found) > PAGE_SIZE and page < MAX_PAGE,
    )
