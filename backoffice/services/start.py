"""A signed-in person's start page: today's work for clerks, deadlines for officials and heads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from django.db.models import Count, Q

from backoffice.services.dossier_list import Row, due_soon, overdue, rows
from backoffice.services.people import LEAD_ROLES, RESUBMIT_ROLES, SCAN_ROLES, Person
from backoffice.services.refused import Refusal, list_refusals, office_codes
from backoffice.services.statistics_report import KeyFigures, key_figures
from core.vntime import VN_TZ, to_vn
from dossiers.models import Document, DocumentState, Dossier, Role
from dossiers.services.access import has_role, scope
from signing.models import Batch, BatchItem

__all__ = ["SHOWN", "ClerkDay", "LeadDay", "clerk_day", "lead_day"]

SHOWN = 20
"""Most dossiers, refusals or batches listed in one section of the start page."""


@dataclass(frozen=True)
class ClerkDay:
    received_today: list[Dossier]
    received_today_count: int
    refused: list[Refusal]
    refused_count: int
    returned_count: int
    """Documents the officials rejected, waiting for the desk (``/ky-duyet/tu-choi/``)."""

    resubmit_codes: set[str]
    """The offices whose refused scans the person may send back in."""


@dataclass(frozen=True)
class LeadDay:
    overdue: list[Row]
    overdue_count: int
    due_soon: list[Row]
    due_soon_count: int
    batches: list[Batch]
    """Batches still open or signing, each with ``pending`` (items awaiting a decision)."""

    signs: bool
    """Whether the person is a signing official (the batches link to their review)."""

    key: KeyFigures | None = None
    """For an office head: the running month's figures (the statistics page has the rest)."""


def clerk_day(user: Person, now: datetime) -> ClerkDay:
    """Dossiers the person's desks received today (Vietnam time) and the scans refused."""
    midnight = datetime.combine(to_vn(now).date(), time.min, tzinfo=VN_TZ)
    today = scope(Dossier.objects.filter(received_at__gte=midnight), user, Role.CLERK)
    refused = list_refusals(user, *SCAN_ROLES)
    returned = scope(
        Document.objects.filter(state=DocumentState.REJECTED),
        user,
        Role.CLERK,
        via="dossier__office",
    )
    return ClerkDay(
        received_today=list(today.select_related("procedure").order_by("-received_at")[:SHOWN]),
        received_today_count=today.count(),
        refused=refused[:SHOWN],
        refused_count=len(refused),
        returned_count=returned.count(),
        resubmit_codes=set(office_codes(user, *RESUBMIT_ROLES)),
    )


def lead_day(user: Person, now: datetime) -> LeadDay:
    """Overdue dossiers first (most overdue on top), then those due soon, then pending batches."""
    mine = scope(Dossier.objects.select_related("procedure"), user, *LEAD_ROLES)
    late = overdue(mine, now).order_by("due_at", "pk")
    soon = due_soon(mine, now).order_by("due_at", "pk")
    batches = (
        scope(Batch.objects.exclude(state=Batch.State.DONE), user, *LEAD_ROLES)
        .select_related("office", "procedure", "signer")
        .annotate(pending=Count("items", filter=Q(items__decision=BatchItem.Decision.PENDING)))
        .order_by("created_at", "pk")
    )
    return LeadDay(
        overdue=rows(list(late[:SHOWN]), now),
        overdue_count=late.count(),
        due_soon=rows(list(soon[:SHOWN]), now),
        due_soon_count=soon.count(),
        batches=list(batches[:SHOWN]),
        signs=has_role(user, Role.OFFICIAL),
        key=key_figures(user, now) if has_role(user, Role.HEAD) else None,
    )
