"""The signed letters' outbox: an email (the letter attached) and an SMS, each under a lease.

One row per letter, channel and recipient, sent as results are
(:mod:`publishing.services.outbox`). Once every row is sent the letter is SENT. The rows
are written by the delivery task itself, so a lost task leaves a signed letter with none:
:func:`letters_owed` finds it for ``publishing.tasks.recover_publishing``, as it finds a
letter whose messages are overdue.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from dossiers.models import Letter
from dossiers.services.letters import mark_sent
from dossiers.services.workflow import record_event
from publishing.models import LetterMessage, OutboxMessage, SmsTemplate
from publishing.services.delivery import recipients
from publishing.services.delivery_email import lookup_url
from publishing.services.delivery_sms import gateway, sms_text
from publishing.services.outbox import RECOVERY_BATCH, overdue, send_row

__all__ = ["LetterDelivery", "deliver_letter", "letters_owed", "queue_letter_messages"]

LetterDelivery = tuple[int, int, bool]
"""(sent, failed, letter now SENT)."""


def queue_letter_messages(letter: Letter) -> list[LetterMessage]:
    """The letter's messages: an email and an SMS when the dossier has the address; once."""
    return [
        LetterMessage.objects.get_or_create(letter=letter, channel=channel, recipient=to)[0]
        for channel, to in recipients(letter.dossier)
    ]


def _key(row: LetterMessage, letter: Letter) -> str:
    return f"letter-{row.pk}-{letter.signed_sha256[:12]}"


def _email(row: LetterMessage, letter: Letter) -> EmailMessage:
    dossier = letter.dossier
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    body = (
        f"Kính gửi ông/bà {dossier.applicant_name},\n\n"
        f"{dossier.office.name} gửi ông/bà văn bản “{letter.title.capitalize()}” "
        f"về hồ sơ {dossier.code} ({dossier.procedure.name}), có chữ ký số, đính kèm thư này.\n\n"
        f"Tra cứu hồ sơ: {lookup_url(dossier)}\n"
        f"Kiểm tra chữ ký số: {settings.PUBLIC_BASE_URL}/kiem-tra/\n\n"
        f"Trân trọng,\n{dossier.office.name}\n\n(Thư gửi tự động, xin đừng trả lời thư này.)\n"
    )
    message = EmailMessage(
        subject=f"Văn bản về hồ sơ {dossier.code}",
        body=body,
        to=[row.recipient],
        headers={"Message-ID": f"<{_key(row, letter)}@{domain}>"},
    )
    message.attach(
        f"van-ban-{dossier.code}-{letter.pk}.pdf",
        Path(letter.signed_path).read_bytes(),
        "application/pdf",
    )
    return message


def _send(row: LetterMessage, *, letter: Letter) -> None:
    if row.channel == OutboxMessage.Channel.EMAIL:
        message = _email(row, letter)
        message.connection = get_connection(fail_silently=False)
        if message.send() != 1:
            raise ConnectionError("the mail backend sent nothing")
    else:
        text = sms_text(letter.dossier, SmsTemplate.Purpose.LETTER)
        gateway().send(row.recipient, text, key=_key(row, letter))


def _send_one(row_id: int, letter: Letter, now: datetime) -> bool | None:
    def gave_up(row: LetterMessage, why: str) -> None:
        record_event(
            letter.dossier,
            "delivery_failed",
            detail={"channel": row.channel, "letter": letter.pk, "error": why},
        )

    return send_row(
        LetterMessage,
        row_id,
        partial(_send, letter=letter),
        about=f"letter {letter.pk}",
        gave_up=gave_up,
        now=now,
    )


def deliver_letter(letter_id: int, *, now: datetime | None = None) -> LetterDelivery:
    """Queue (once) and send every due message of a signed letter; mark it SENT when all are."""
    now = now or timezone.now()
    letter = Letter.objects.select_related("dossier__office", "dossier__procedure").get(
        pk=letter_id
    )
    if letter.state != Letter.State.SIGNED:
        return 0, 0, letter.state == Letter.State.SENT
    queue_letter_messages(letter)
    now = max(now, timezone.now())  # rows queued just now are due
    rows = LetterMessage.objects.filter(letter=letter)
    due = rows.filter(state=OutboxMessage.State.PENDING, next_attempt_at__lte=now)
    outcomes = [_send_one(pk, letter, now) for pk in due.values_list("pk", flat=True)]
    sent = not rows.exclude(state=OutboxMessage.State.SENT).exists() and mark_sent(letter_id)
    return sum(1 for o in outcomes if o), sum(1 for o in outcomes if o is False), sent


def letters_owed(
    *, grace_s: float, now: datetime | None = None, limit: int = RECOVERY_BATCH
) -> list[int]:
    """Signed letters whose delivery task was lost, for the recovery to send it again.

    Either signed ``grace_s`` ago or more with nothing left to send (no message queued:
    the task never ran; every message sent: its worker died before marking the letter
    SENT), or with a message overdue by the grace and held by no live sender, as results'
    are (:func:`publishing.services.outbox.overdue`). A letter whose messages wait for
    their next try, are being sent, or failed for a person, is not owed. At most
    ``limit`` of each kind, found by the indexes ``letter_state_signed_idx`` and
    ``letter_message_due_idx``.
    """
    now = now or timezone.now()
    unsent = LetterMessage.objects.filter(letter=OuterRef("pk")).exclude(
        state=OutboxMessage.State.SENT
    )
    idle = (
        Letter.objects.filter(
            state=Letter.State.SIGNED, signed_at__lt=now - timedelta(seconds=grace_s)
        )
        .filter(~Exists(unsent))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    late = overdue(
        LetterMessage,
        "letter",
        grace_s=grace_s,
        owners=Q(letter__state=Letter.State.SIGNED),
        now=now,
        limit=limit,
    )
    return sorted({*idle, *late})
