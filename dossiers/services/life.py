"""A dossier's states and timed hand-offs: processing, supplement pause, transfer, endings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from dossiers.calendar import TIMELINESS_LABELS_VI, due_at, timeliness, working_days_left
from dossiers.errors import LifeError
from dossiers.models import CalendarDay, Dossier, DossierStep, Office, StepKind
from dossiers.services.workflow import record_event

__all__ = [
    "OPEN",
    "close_step",
    "complete_papers",
    "end_dossier",
    "open_step",
    "request_supplement",
    "return_to_citizen",
    "start_processing_at",
    "step_outcome_words",
    "transfer",
    "transfer_back",
]

S = Dossier.Status
OPEN = (S.RECEIVED, S.PROCESSING, S.SUPPLEMENT, S.TRANSFERRED)
"""States in which the dossier is still being handled (its clock may be running)."""

ENDINGS: dict[str, tuple[str, str]] = {
    S.REFUSED: ("dossier_refused", "refusal"),
    S.STOPPED: ("dossier_stopped", "stop"),
    S.WITHDRAWN: ("withdrawn", "withdrawal"),
}
"""Each way a dossier ends without a result: its event kind and the word for the step note."""

User = AbstractBaseUser | AnonymousUser


def _who(user: User | None) -> str:
    return user.get_username() if user is not None and user.is_authenticated else ""


def _holder(user: User | None) -> Any:
    return user if user is not None and user.is_authenticated else None


def open_step(
    dossier: Dossier,
    kind: StepKind,
    office: Office | int,
    *,
    user: User | None = None,
    due: datetime | None = None,
    note: str = "",
    at: datetime | None = None,
) -> DossierStep:
    """Start a step of ``dossier`` held by ``office`` (and ``user``), due at ``due``."""
    office_id = office if isinstance(office, int) else office.pk
    return DossierStep.objects.create(
        dossier=dossier,
        office_id=office_id,
        holder=_holder(user),
        kind=kind,
        started_at=at or timezone.now(),
        due_at=due,
        note=note,
        actor=_who(user),
    )


def _ensure_reception(dossier: Dossier) -> None:
    """Give a dossier without steps its reception step, from the moment it was received;
    the desk hands a dossier on by the next working day."""
    if not DossierStep.objects.filter(dossier=dossier).exists():
        DossierStep.objects.create(
            dossier=dossier,
            office_id=dossier.office_id,
            kind=StepKind.RECEPTION,
            started_at=dossier.received_at,
            due_at=due_at(dossier.received_at, 1, CalendarDay.work_calendar()),
        )


def close_step(
    dossier: Dossier, *, at: datetime | None = None, note: str = ""
) -> DossierStep | None:
    """End the dossier's open step now, recording whether it ended early, on time or late."""
    _ensure_reception(dossier)
    step = (
        DossierStep.objects.select_for_update()
        .filter(dossier=dossier, ended_at__isnull=True)
        .order_by("-started_at", "-pk")
        .first()
    )
    if step is None:
        return None
    step.ended_at = at or timezone.now()
    step.outcome = timeliness(step.ended_at, step.due_at) if step.due_at else ""
    if note:
        step.note = f"{step.note}\n{note}".strip()
    step.save(update_fields=["ended_at", "outcome", "note"])
    return step


def step_outcome_words(step: DossierStep) -> str:
    """``Trước hạn``, ``Đúng hạn``, ``Trễ hạn``, or blank while it runs or has no due."""
    return TIMELINESS_LABELS_VI.get(step.outcome, "") if step.outcome else ""  # type: ignore[call-overload]


def _move(
    dossier: Dossier,
    expected: Iterable[str],
    new: str,
    *,
    kind: str,
    user: User | None,
    detail: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Move the dossier from one of ``expected`` to ``new`` with its event, or LifeError."""
    allowed = tuple(expected)
    moved = Dossier.objects.filter(pk=dossier.pk, status__in=allowed).update(status=new, **fields)
    if not moved:
        dossier.refresh_from_db(fields=["status"])
        raise LifeError(
            f"Hồ sơ {dossier.code} đang ở trạng thái “{dossier.get_status_display()}”, "
            "không thực hiện được thao tác này."
        )
    old = dossier.status
    dossier.refresh_from_db()
    record_event(dossier, kind, actor=_who(user), detail=detail, from_state=str(old), to_state=new)


def start_processing_at(dossier: Dossier, *, user: User | None = None) -> None:
    """The desk hands a received dossier to its office for processing (a timed step)."""
    with transaction.atomic():
        _move(dossier, (S.RECEIVED,), S.PROCESSING, kind="processing_started", user=user)
        close_step(dossier)
        open_step(dossier, StepKind.PROCESSING, dossier.office_id, user=user, due=dossier.due_at)


def request_supplement(dossier: Dossier, reason: str, *, user: User | None = None) -> None:
    """Stop the clock: the citizen must complete the papers (the days left are kept)."""
    if not reason.strip():
        raise LifeError("Hãy ghi rõ giấy tờ cần bổ sung.")
    now = timezone.now()
    with transaction.atomic():
        left = working_days_left(now, dossier.due_at, CalendarDay.work_calendar())
        _move(
            dossier,
            (S.RECEIVED, S.PROCESSING),
            S.SUPPLEMENT,
            kind="supplement_requested",
            user=user,
            detail={"reason": reason.strip(), "days_left": left},
            paused_at=now,
            paused_days_left=left,
        )
        close_step(dossier, at=now)
        open_step(dossier, StepKind.SUPPLEMENT, dossier.office_id, user=user, note=reason.strip())


def complete_papers(dossier: Dossier, *, user: User | None = None) -> datetime:
    """Restart the clock from today with the days left when it stopped; the new due moment."""
    now = timezone.now()
    with transaction.atomic():
        current = Dossier.objects.select_for_update().get(pk=dossier.pk)
        left = current.paused_days_left or 0
        new_due = due_at(now, left, CalendarDay.work_calendar())
        _move(
            dossier,
            (S.SUPPLEMENT,),
            S.PROCESSING,
            kind="papers_completed",
            user=user,
            detail={
                "days_left": left,
                "old_due": current.due_at.isoformat(),
                "due_at": new_due.isoformat(),
            },
            due_at=new_due,
            paused_at=None,
            paused_days_left=None,
        )
        close_step(dossier, at=now)
        open_step(dossier, StepKind.PROCESSING, dossier.office_id, user=user, due=new_due)
    return new_due


def transfer(
    dossier: Dossier,
    to: Office,
    *,
    days: int,
    reason: str = "",
    user: User | None = None,
) -> DossierStep:
    """Hand the dossier to another office (liên thông) for ``days`` working days."""
    if to.pk == dossier.office_id:
        raise LifeError("Hãy chọn một cơ quan khác với cơ quan đang giải quyết hồ sơ.")
    now = timezone.now()
    with transaction.atomic():
        step_due = due_at(now, max(days, 0), CalendarDay.work_calendar())
        _move(
            dossier,
            (S.RECEIVED, S.PROCESSING),
            S.TRANSFERRED,
            kind="transferred",
            user=user,
            detail={"to_office": to.pk, "to": to.name, "days": days, "reason": reason},
        )
        close_step(dossier, at=now)
        return open_step(dossier, StepKind.TRANSFER, to, user=user, due=step_due, note=reason)


def transfer_back(dossier: Dossier, *, note: str = "", user: User | None = None) -> DossierStep:
    """The other office hands the dossier back; its time is closed and timed."""
    now = timezone.now()
    with transaction.atomic():
        held = close_step(dossier, at=now, note=note)
        _move(
            dossier,
            (S.TRANSFERRED,),
            S.PROCESSING,
            kind="transfer_returned",
            user=user,
            detail={
                "from_office": held.office_id if held else None,
                "outcome": held.outcome if held else "",
                "note": note,
            },
        )
        return open_step(
            dossier, StepKind.PROCESSING, dossier.office_id, user=user, due=dossier.due_at
        )


def end_dossier(dossier: Dossier, status: str, reason: str, *, user: User | None = None) -> None:
    """Refuse, stop or record the citizen's withdrawal, with the reason; the clock ends."""
    if status not in ENDINGS:
        raise LifeError("Thao tác không hợp lệ.")
    if not reason.strip():
        raise LifeError("Hãy ghi rõ lý do.")
    kind, _word = ENDINGS[status]
    with transaction.atomic():
        _move(
            dossier,
            OPEN,
            status,
            kind=kind,
            user=user,
            detail={"reason": reason.strip()},
            paused_at=None,
            paused_days_left=None,
        )
        close_step(dossier, note=reason.strip())


def return_to_citizen(dossier: Dossier, *, user: User | None = None) -> None:
    """The result (or the papers of an ended dossier) was handed to the citizen at the desk."""
    with transaction.atomic():
        _move(
            dossier,
            (S.RESOLVED, S.REFUSED, S.STOPPED, S.WITHDRAWN),
            S.RETURNED,
            kind="returned_to_citizen",
            user=user,
        )
        close_step(dossier, at=dossier.resolved_at)
        step = open_step(dossier, StepKind.RETURN, dossier.office_id, user=user)
        close_step(dossier, at=step.started_at)
