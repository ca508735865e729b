"""Per official: the steps they took in a period and how the dossiers they touched fared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet

from backoffice.services.periods import Period
from backoffice.services.statistics import early, open_at, outcomes, rate
from dossiers.models import Event

__all__ = ["STEP_KINDS", "OfficialFigures", "officials"]

STEP_KINDS = ("approved", "rejected", "signed")
"""The steps officials hold today: their events carry the official's user name as actor."""


@dataclass(frozen=True)
class OfficialFigures:
    """The steps one official took in the period and how their dossiers fared."""

    actor: str
    """The user name recorded on the events (an organisation key's name for automatic
    signing)."""

    name: str
    """The person's full name, or the actor when none is known."""

    approved: int
    rejected: int
    signed: int
    dossiers: int
    """Distinct dossiers they took a step on."""

    resolved_early: int
    resolved_on_time: int
    resolved_late: int
    pending_in_time: int
    pending_overdue: int

    @property
    def on_time_rate(self) -> float | None:
        resolved = self.resolved_early + self.resolved_on_time + self.resolved_late
        return rate(self.resolved_early + self.resolved_on_time, resolved + self.pending_overdue)


def _full_names(usernames: list[str]) -> dict[str, str]:
    """The full names of the people with these user names (one query)."""
    people = get_user_model().objects.filter(username__in=usernames)
    return {
        username: f"{first} {last}".strip()
        for username, first, last in people.values_list("username", "first_name", "last_name")
    }


def officials(events: QuerySet[Event], period: Period, now: datetime) -> list[OfficialFigures]:
    """Per official, in one grouped query: the steps they took in ``period`` (approvals,
    rejections, signatures) and how the dossiers they touched fared by the period's end;
    then their full names, in one more.
    """
    cut = period.cutoff(now)
    resolved = Q(dossier__resolved_at__lt=cut)
    pending = open_at(cut, prefix="dossier__")
    rows = (
        events.filter(kind__in=STEP_KINDS, at__gte=period.start, at__lt=cut)
        .exclude(actor="")
        .values("actor")
        .annotate(
            approved=Count("pk", filter=Q(kind="approved")),
            rejected=Count("pk", filter=Q(kind="rejected")),
            signed=Count("pk", filter=Q(kind="signed")),
            dossiers=Count("dossier", distinct=True),
            resolved=Count("dossier", distinct=True, filter=resolved),
            resolved_early=Count(
                "dossier", distinct=True, filter=resolved & early(prefix="dossier__")
            ),
            resolved_late=Count(
                "dossier",
                distinct=True,
                filter=resolved & Q(dossier__resolved_at__gt=F("dossier__due_at")),
            ),
            pending=Count("dossier", distinct=True, filter=pending),
            pending_overdue=Count(
                "dossier", distinct=True, filter=pending & Q(dossier__due_at__lt=cut)
            ),
        )
        .order_by("actor")
    )
    found = list(rows)
    names = _full_names([row["actor"] for row in found])
    return [
        OfficialFigures(
            actor=row["actor"],
            name=names.get(row["actor"]) or row["actor"],
            approved=row["approved"],
            rejected=row["rejected"],
            signed=row["signed"],
            dossiers=row["dossiers"],
            **outcomes(row),
        )
        for row in found
    ]
