"""Letters to the citizen (forms 02–05): drafted from templates, reviewed, rendered, tracked."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from core.vntime import VN_TZ
from dossiers.calendar import TIMELINESS_LABELS_VI, due_at
from dossiers.errors import LifeError
from dossiers.files import store_bytes
from dossiers.forms_text import (
    DEFAULTS,
    FORM_NUMBERS,
    SLIP_FORM,
    SLIP_TITLE,
    TemplateText,
    fill,
    regime_of,
)
from dossiers.letters import LetterData, SlipData, SlipRow, render_letter, render_slip
from dossiers.models import (
    CalendarDay,
    Dossier,
    DossierStep,
    Letter,
    LetterForm,
    LetterTemplate,
    StepKind,
)
from dossiers.services.letter_numbers import next_letter_number
from dossiers.services.workflow import record_event

__all__ = [
    "approve_letter",
    "draft_letter",
    "edit_letter",
    "letter_pdf",
    "letter_values",
    "mark_sent",
    "mark_signed",
    "slip_pdf",
    "template_for",
]

User = AbstractBaseUser | AnonymousUser


def _who(user: User | None) -> str:
    return user.get_username() if user is not None and user.is_authenticated else ""


def _local(moment: datetime | None) -> str:
    return moment.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y") if moment else ""


def template_for(form: str, regime: str) -> TemplateText:
    """The administrator's wording of ``form`` under ``regime``, else the default one."""
    row = LetterTemplate.objects.filter(form=form, regime=regime).first()
    if row is not None:
        return TemplateText(title=row.title, body=row.body, recipients=row.recipients)
    return DEFAULTS[(regime, form)]


def letter_values(
    dossier: Dossier,
    *,
    reason: str,
    new_due: datetime | None,
    extra_days: int | None,
    now: datetime,
) -> dict[str, str]:
    """What fills a template's ``$name`` placeholders for ``dossier``."""
    return {
        "office": dossier.office.name,
        "applicant": dossier.applicant_name,
        "code": dossier.code,
        "procedure": dossier.procedure.name,
        "field": dossier.procedure.field or "—",
        "received": _local(dossier.received_at),
        "due": _local(dossier.due_at),
        "new_due": _local(new_due),
        "reason": reason.strip() or "…",
        "extra_days": str(extra_days or ""),
        "today": _local(now),
    }


def draft_letter(
    dossier: Dossier,
    form: str,
    *,
    reason: str,
    extra_days: int | None = None,
    user: User | None = None,
    late_due: datetime | None = None,
) -> Letter:
    """Draft ``form`` for ``dossier`` from its template; an apology gets its new appointment
    ``extra_days`` working days from today."""
    if form not in LetterForm.values:
        raise LifeError("Mẫu văn bản không hợp lệ.")
    now = timezone.now()
    regime = regime_of(dossier.received_at)
    new_due = None
    if form == LetterForm.APOLOGY:
        extra_days = max(1, extra_days or settings.APOLOGY_EXTRA_DAYS)
        new_due = due_at(now, extra_days, CalendarDay.work_calendar())
    wording = template_for(form, regime)
    values = letter_values(dossier, reason=reason, new_due=new_due, extra_days=extra_days, now=now)
    with transaction.atomic():
        letter = Letter.objects.create(
            dossier=dossier,
            form=form,
            regime=regime,
            title=fill(wording.title, values),
            text=fill(wording.body, values),
            recipients=wording.recipients,
            reason=reason.strip(),
            late_due_at=late_due if form == LetterForm.APOLOGY else None,
            new_due_at=new_due,
            extra_days=extra_days,
            drafted_by=_who(user),
            created_at=now,
        )
        record_event(
            dossier, "letter_drafted", actor=_who(user), detail={"letter": letter.pk, "form": form}
        )
    return letter


def edit_letter(letter: Letter, text: str, *, user: User | None = None) -> None:
    """The head's edits to a draft (or to an approved letter, which goes back to draft)."""
    if not text.strip():
        raise LifeError("Nội dung văn bản không được để trống.")
    updated = Letter.objects.filter(
        pk=letter.pk, state__in=(Letter.State.DRAFT, Letter.State.APPROVED)
    ).update(text=text.strip(), state=Letter.State.DRAFT, pdf_path="")
    if not updated:
        raise LifeError("Văn bản đã ký hoặc đã gửi, không sửa được nữa.")
    letter.refresh_from_db()


def letter_pdf(letter: Letter, *, signer_title: str, signer_name: str) -> bytes:
    """The letter as PDF/A, as it will be signed."""
    dossier = letter.dossier
    office = dossier.office
    return render_letter(
        LetterData(
            office_name=office.name,
            parent_name=office.parent.name if office.parent_id and office.parent else "",
            number=letter.number,
            dated=timezone.now(),
            title=letter.title,
            addressee=f"Ông/Bà {dossier.applicant_name}",
            paragraphs=[p for p in letter.text.splitlines() if p.strip()],
            recipients=[r for r in letter.recipients.splitlines() if r.strip()],
            signer_title=signer_title,
            signer_name=signer_name,
            form_number=FORM_NUMBERS.get((letter.regime, letter.form), ""),
            dossier_code=dossier.code,
        )
    )


def approve_letter(
    letter: Letter, *, signer_title: str, signer_name: str, user: User | None = None
) -> Path:
    """Fix the letter's text and number and render its PDF/A into the store, ready to sign."""
    with transaction.atomic():
        locked = (
            # Only the letter's row: the number's own counter row is what approvals of one
            # office and form queue for (dossiers.services.letter_numbers).
            Letter.objects.select_for_update(of=("self",))
            .select_related("dossier__office")
            .get(pk=letter.pk)
        )
        if locked.state not in (Letter.State.DRAFT, Letter.State.APPROVED):
            raise LifeError("Văn bản đã ký hoặc đã gửi.")
        locked.number = locked.number or next_letter_number(
            locked.dossier.office_id, locked.form, timezone.now()
        )
        path, _digest = store_bytes(
            letter_pdf(locked, signer_title=signer_title, signer_name=signer_name),
            Path(settings.STORE_DIR),
        )
        locked.pdf_path = str(path)
        locked.state = Letter.State.APPROVED
        locked.save(update_fields=["number", "pdf_path", "state"])
        record_event(
            locked.dossier,
            "letter_approved",
            actor=_who(user),
            detail={"letter": locked.pk, "form": locked.form, "number": locked.number},
        )
    letter.refresh_from_db()
    return path


def mark_signed(letter: Letter, signed_path: Path, sha256: str, *, actor: str) -> bool:
    """Record the signed letter, once; an apology moves the dossier's due date to the new
    appointment and counts as an apology issued."""
    now = timezone.now()
    with transaction.atomic():
        updated = Letter.objects.filter(pk=letter.pk, state=Letter.State.APPROVED).update(
            state=Letter.State.SIGNED,
            signed_path=str(signed_path),
            signed_sha256=sha256,
            signed_by=actor,
            signed_at=now,
        )
        if not updated:
            return False
        letter.refresh_from_db()
        dossier = letter.dossier
        detail = {"letter": letter.pk, "form": letter.form, "sha256": sha256}
        record_event(dossier, "letter_signed", actor=actor, detail=detail)
        if letter.form == LetterForm.APOLOGY:
            record_event(dossier, "apology_issued", actor=actor, detail=detail)
            open_now = dossier.resolved_at is None and dossier.status in (
                Dossier.Status.RECEIVED,
                Dossier.Status.PROCESSING,
                Dossier.Status.TRANSFERRED,
            )
            if letter.new_due_at is not None and open_now:
                Dossier.objects.filter(pk=dossier.pk).update(due_at=letter.new_due_at)
                DossierStep.objects.filter(
                    dossier=dossier, ended_at__isnull=True, kind=StepKind.PROCESSING
                ).update(due_at=letter.new_due_at)
                record_event(
                    dossier,
                    "due_moved",
                    actor=actor,
                    detail={
                        "old_due": dossier.due_at.isoformat(),
                        "due_at": letter.new_due_at.isoformat(),
                        "letter": letter.pk,
                    },
                )
    return True


def mark_sent(letter_id: int) -> bool:
    """Record that every message of the signed letter went out, once."""
    with transaction.atomic():
        updated = Letter.objects.filter(pk=letter_id, state=Letter.State.SIGNED).update(
            state=Letter.State.SENT, sent_at=timezone.now()
        )
        if updated:
            letter = Letter.objects.select_related("dossier").get(pk=letter_id)
            record_event(
                letter.dossier, "letter_sent", detail={"letter": letter_id, "form": letter.form}
            )
    return bool(updated)


_STEP_WORDS = dict(StepKind.choices)


def slip_pdf(dossier: Dossier, *, now: datetime | None = None) -> bytes:
    """The process-control slip of ``dossier``: every hand-off, timed against its due."""
    steps = list(DossierStep.objects.filter(dossier=dossier).select_related("office", "holder"))
    rows = [
        SlipRow(
            step=str(_STEP_WORDS.get(step.kind, step.kind)),
            office=step.office.name,
            holder=step.holder.get_full_name() or step.holder.get_username() if step.holder else "",
            started_at=step.started_at,
            ended_at=step.ended_at,
            due_at=step.due_at,
            outcome=TIMELINESS_LABELS_VI.get(step.outcome, "")  # type: ignore[call-overload]
            if step.outcome
            else ("Đang xử lý" if step.ended_at is None else ""),
            note=step.note.splitlines()[0][:80] if step.note else "",
        )
        for step in steps
    ]
    regime = regime_of(dossier.received_at)
    return render_slip(
        SlipData(
            office_name=dossier.office.name,
            dossier_code=dossier.code,
            applicant_name=dossier.applicant_name,
            procedure_name=dossier.procedure.name,
            received_at=dossier.received_at,
            due_at=dossier.due_at,
            rows=rows,
            form_number=SLIP_FORM[regime],
            title=SLIP_TITLE,
            printed_at=now or timezone.now(),
        )
    )
