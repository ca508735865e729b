"""The scheduled deadline watch: flag dossiers about to be late, draft apologies for late ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dossiers.calendar import due_at
from dossiers.models import CalendarDay, Dossier, Letter, LetterForm
from dossiers.services.letters import draft_letter
from dossiers.services.workflow import record_event

__all__ = ["CLOCK_RUNNING", "Watch", "draft_apologies", "flag_due_soon", "watch_deadlines"]

log = logging.getLogger(__name__)

CLOCK_RUNNING = (
    Dossier.Status.RECEIVED,
    Dossier.Status.PROCESSING,
    Dossier.Status.TRANSFERRED,
)
"""States whose clock runs (a supplement pause stops it; endings and results end it)."""


@dataclass(frozen=True)
class Watch:
    """What one run of the deadline watch did."""

    flagged: int
    apologies: int


def flag_due_soon(now: datetime | None = None) -> int:
    """Flag to its office each dossier due within ``DUE_SOON_WORKING_DAYS`` working days,
    once per due moment (a moved due date is flagged again when it comes near)."""
    now = now or timezone.now()
    horizon = due_at(now, settings.DUE_SOON_WORKING_DAYS, CalendarDay.work_calendar())
    candidates = Dossier.objects.filter(
        status__in=CLOCK_RUNNING, resolved_at__isnull=True, due_at__gt=now, due_at__lte=horizon
    ).values_list("pk", "due_at", "warned_due_at")
    flagged = 0
    for pk, due, warned in candidates:
        if warned == due:
            continue
        with transaction.atomic():
            if (
                not Dossier.objects.filter(pk=pk, due_at=due)
                .exclude(warned_due_at=due)
                .update(warned_due_at=due)
            ):
                continue
            dossier = Dossier.objects.get(pk=pk)
            record_event(dossier, "due_soon", detail={"due_at": due.isoformat()})
            flagged += 1
    return flagged


def draft_apologies(now: datetime | None = None) -> int:
    """Draft the apology letter (form 04) of each late dossier, once per missed due moment:
    a dossier late again after its new appointment gets another one."""
    now = now or timezone.now()
    late = Dossier.objects.filter(
        status__in=CLOCK_RUNNING, resolved_at__isnull=True, due_at__lt=now
    ).select_related("office", "procedure")
    drafted = 0
    for dossier in late:
        if Letter.objects.filter(
            dossier=dossier, form=LetterForm.APOLOGY, late_due_at=dossier.due_at
        ).exists():
            continue
        try:
            with transaction.atomic():
                draft_letter(dossier, LetterForm.APOLOGY, reason="", late_due=dossier.due_at)
        except IntegrityError:  # another run drafted it first
            continue
        drafted += 1
        log.info("dossier %s late: apology drafted", dossier.pk)
    return drafted


def watch_deadlines(now: datetime | None = None) -> Watch:
    """One run of the scheduled watch; safe to run as often as wanted."""
    return Watch(flagged=flag_due_soon(now), apologies=draft_apologies(now))
