"""A step of the dossier's life and the letter it owes the citizen, in one call."""

from __future__ import annotations

from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from core.vntime import VN_TZ
from dossiers.calendar import due_at, working_days_left
from dossiers.errors import LifeError
from dossiers.forms_text import fill
from dossiers.models import CalendarDay, Dossier, Letter, LetterForm
from dossiers.services.letters import draft_letter, edit_letter, letter_values, template_for
from dossiers.services.life import end_dossier, request_supplement
from dossiers.services.workflow import record_event

__all__ = [
    "edit_letter_text",
    "refuse_with_letter",
    "request_supplement_with_letter",
    "revise_apology",
    "stop_with_letter",
]

User = AbstractBaseUser | AnonymousUser

EDITABLE = (Letter.State.DRAFT, Letter.State.APPROVED)
"""States in which a letter's wording may still change (it goes back to draft)."""


def _who(user: User | None) -> str:
    return user.get_username() if user is not None and user.is_authenticated else ""


def request_supplement_with_letter(
    dossier: Dossier, reason: str, *, user: User | None = None
) -> Letter:
    """Stop the clock for the missing papers and draft form 02 naming them, for the head."""
    with transaction.atomic():
        request_supplement(dossier, reason, user=user)
        return draft_letter(dossier, LetterForm.SUPPLEMENT, reason=reason, user=user)


def refuse_with_letter(dossier: Dossier, reason: str, *, user: User | None = None) -> Letter:
    """Refuse the dossier with the reason and draft form 03 saying so, for the head to sign."""
    with transaction.atomic():
        end_dossier(dossier, Dossier.Status.REFUSED, reason, user=user)
        return draft_letter(dossier, LetterForm.REFUSAL, reason=reason, user=user)


def stop_with_letter(dossier: Dossier, reason: str, *, user: User | None = None) -> Letter:
    """Stop handling the dossier with the reason and draft the notice (form 05)."""
    with transaction.atomic():
        end_dossier(dossier, Dossier.Status.STOPPED, reason, user=user)
        return draft_letter(dossier, LetterForm.STOP, reason=reason, user=user)


def edit_letter_text(letter: Letter, text: str, *, user: User | None = None) -> None:
    """The head's edits to the wording (:func:`edit_letter`), with an event on the dossier."""
    with transaction.atomic():
        edit_letter(letter, text, user=user)
        record_event(
            letter.dossier,
            "letter_edited",
            actor=_who(user),
            detail={"letter": letter.pk, "form": letter.form},
        )


def revise_apology(
    letter: Letter,
    reason: str,
    new_day: date,
    *,
    user: User | None = None,
    now: datetime | None = None,
) -> Letter:
    """Set an apology's reason and new appointment (17:00 on ``new_day``, a working day
    after today) and write its wording again from the template; it goes back to draft."""
    if letter.form != LetterForm.APOLOGY:
        raise LifeError("Chỉ văn bản xin lỗi (mẫu 04) có ngày hẹn lại.")
    if not reason.strip():
        raise LifeError("Hãy chọn hoặc ghi lý do trễ hẹn.")
    now = now or timezone.now()
    calendar = CalendarDay.work_calendar()
    if new_day <= now.astimezone(VN_TZ).date() or not calendar.is_working_day(new_day):
        raise LifeError("Ngày hẹn lại phải là một ngày làm việc sau hôm nay.")
    probe = datetime(new_day.year, new_day.month, new_day.day, 12, tzinfo=VN_TZ)
    extra = max(1, working_days_left(now, probe, calendar))
    new_due = due_at(now, extra, calendar)
    with transaction.atomic():
        locked = Letter.objects.select_for_update().select_related(
            "dossier__office", "dossier__procedure"
        )
        current = locked.get(pk=letter.pk)
        if current.state not in EDITABLE:
            raise LifeError("Văn bản đã ký hoặc đã gửi, không sửa được nữa.")
        wording = template_for(current.form, current.regime)
        values = letter_values(
            current.dossier, reason=reason, new_due=new_due, extra_days=extra, now=now
        )
        current.title = fill(wording.title, values)
        current.text = fill(wording.body, values)
        current.reason = reason.strip()
        current.new_due_at = new_due
        current.extra_days = extra
        current.state = Letter.State.DRAFT
        current.pdf_path = ""
        current.save(
            update_fields=[
                "title",
                "text",
                "reason",
                "new_due_at",
                "extra_days",
                "state",
                "pdf_path",
            ]
        )
        record_event(
            current.dossier,
            "letter_edited",
            actor=_who(user),
            detail={"letter": current.pk, "form": current.form, "new_due": new_due.isoformat()},
        )
    letter.refresh_from_db()
    return letter
