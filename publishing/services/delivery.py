"""The outbox: queue a result's messages, claim each with a lease, send it, record the outcome.

Every message is one row per (document, channel, recipient), written in the
transaction that publishes. A sender takes the row with a conditional UPDATE (only
when unclaimed or its lease lapsed), so two deliveries of the same document never
send the same row at once; the row is marked SENT only after the server accepted the
message. Each message carries an identity derived from its row (the email's
Message-ID, the SMS gateway's Idempotency-Key), the same on every try.

What cannot be exactly once, and the choice made: a worker killed after the server
took the message and before the row is marked SENT (the SMTP server has the message but
its 250 never reached us, or we heard it and died before the UPDATE; the gateway's HTTP
200 likewise) leaves the row claimed, and nothing on our side can tell that window from
a send that failed. Delivery is therefore *at least once*, never at most once: a lost
result is worse for the citizen than a duplicate the receiving side can recognise.
Once the dead worker's lease lapses the message is sent again, with the same Message-ID
(mail systems and clients collapse messages by it) and the same Idempotency-Key (a
gateway that honours it sends one SMS), so deduplicated by them each citizen gets
exactly one email and one SMS. A worker killed before the server accepted (during the
connection, the envelope or the body) sent nothing: the retry is the only copy.
``tests/publishing/test_delivery_killed.py`` kills a real delivery process with SIGKILL
in that window, against aiosmtpd and the HTTP stand-in, and checks both.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.errors import PipelineError, RetryPolicy
from core.queue import enqueue
from dossiers.models import Document, DocumentState, Dossier
from dossiers.services.workflow import record_event, transition
from publishing.models import OutboxMessage
from publishing.services.delivery_email import message_key, send_email
from publishing.services.delivery_sms import gateway, sms_text

__all__ = [
    "DELIVERY_RETRIES",
    "DELIVERY_SOFT_TIME_LIMIT_S",
    "DELIVERY_TIME_LIMIT_S",
    "LEASE_S",
    "Delivery",
    "claim",
    "deliver",
    "delivery_owed",
    "mark_sent",
    "masked",
    "overdue_deliveries",
    "queue_messages",
    "recipients",
    "send_again",
    "send_message",
]

log = logging.getLogger(__name__)

DELIVERY_RETRIES = RetryPolicy(max_retries=8, first_delay_s=30.0, max_delay_s=900.0)
"""Tries of one message: 30 s, 1, 2, 4, 8 minutes, then every 15 minutes; after 8 tries it
is FAILED for a person (the admin's "send again"). The longest wait stays well below the
broker's visibility timeout (an hour), so a waiting retry is never delivered twice."""

DELIVERY_SOFT_TIME_LIMIT_S = 240
"""Seconds a delivery task may run before it is interrupted (the try is then recorded)."""

DELIVERY_TIME_LIMIT_S = 300
"""Seconds after which the worker running a delivery task is killed."""

LEASE_S = 120.0
"""How long a claim holds a row; renewed every third of it while a send runs long, so it
lapses only when its worker is gone."""


def masked(recipient: str) -> str:
    """A recipient as staff may see it: ``bi***@example.vn``, ``091****678``."""
    name, at, domain = recipient.partition("@")
    if at:
        return f"{name[:2]}***@{domain}"
    return f"{recipient[:3]}{'*' * max(len(recipient) - 6, 1)}{recipient[-3:]}"


def queue_messages(document: Document) -> list[OutboxMessage]:
    """The document's messages: an email and an SMS when the dossier has the address.

    Called inside the transaction that publishes; a second call adds nothing.
    """
    return [
        OutboxMessage.objects.get_or_create(document=document, channel=channel, recipient=to)[0]
        for channel, to in recipients(document.dossier)
    ]


def recipients(dossier: Dossier) -> list[tuple[str, str]]:
    """The (channel, address) pairs a dossier's citizen is reached at: email, then SMS,
    each only when the dossier has it."""
    wanted = (
        (OutboxMessage.Channel.EMAIL, dossier.email.strip()),
        (OutboxMessage.Channel.SMS, dossier.phone.strip()),
    )
    return [(channel, to) for channel, to in wanted if to]


def claim(message_id: int, *, now: datetime | None = None) -> str | None:
    """Take a pending row that is due, for ``LEASE_S``; the claim's token, or None when the
    row is sent, failed, not yet due, or held by another sender whose lease runs."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    taken = (
        OutboxMessage.objects.filter(
            pk=message_id, state=OutboxMessage.State.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=LEASE_S), claimed_by=token)
    )
    return token if taken else None


@contextmanager
def _lease_kept(message_id: int, token: str) -> Iterator[None]:
    """Renew the claim every third of ``LEASE_S`` for as long as the body runs."""
    done = threading.Event()

    def renew() -> None:
        try:
            while not done.wait(LEASE_S / 3):
                OutboxMessage.objects.filter(pk=message_id, claimed_by=token).update(
                    claimed_until=timezone.now() + timedelta(seconds=LEASE_S)
                )
        finally:
            connection.close()  # this thread's own connection

    renewer = threading.Thread(target=renew, name=f"lease-{message_id}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()


def mark_sent(message_id: int, token: str) -> bool:
    """Record that the server accepted the message; False when the claim was lost."""
    return bool(
        OutboxMessage.objects.filter(pk=message_id, claimed_by=token).update(
            state=OutboxMessage.State.SENT,
            attempts=F("attempts") + 1,
            sent_at=timezone.now(),
            last_error="",
            claimed_until=None,
            claimed_by="",
        )
    )


def _reason(error: Exception) -> str:
    """What went wrong, without addresses or text: a kind and a code or status."""
    if isinstance(error, PipelineError) and error.detail:
        return f"{type(error).__name__}: {error.detail}"[:200]
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code = next((c for c, _ in error.recipients.values()), None)
    return f"{type(error).__name__} {code}" if isinstance(code, int) else type(error).__name__


def _mark_failed(row: OutboxMessage, token: str, error: Exception, now: datetime) -> bool:
    """Record a failed try and when to try again; True when this was the last try."""
    attempts = row.attempts + 1
    last = DELIVERY_RETRIES.gives_up(attempts)
    OutboxMessage.objects.filter(pk=row.pk, claimed_by=token).update(
        attempts=attempts,
        last_error=_reason(error),
        next_attempt_at=now + timedelta(seconds=DELIVERY_RETRIES.countdown(attempts - 1)),
        state=OutboxMessage.State.FAILED if last else OutboxMessage.State.PENDING,
        claimed_until=None,
        claimed_by="",
    )
    return last


def _send(row: OutboxMessage, document: Document) -> None:
    if row.channel == OutboxMessage.Channel.EMAIL:
        send_email(row, document)
    else:
        gateway().send(row.recipient, sms_text(document.dossier), key=message_key(row, document))


def send_message(row_id: int, document: Document, *, now: datetime | None = None) -> bool | None:
    """Claim, send and record one outbox row: True sent, False failed, None not claimed."""
    now = now or timezone.now()
    token = claim(row_id, now=now)
    if token is None:
        return None
    row = OutboxMessage.objects.get(pk=row_id)
    try:
        with _lease_kept(row_id, token):
            _send(row, document)
    except Exception as error:
        last = _mark_failed(row, token, error, now)
        log.warning(
            "outbox %s (document %s, %s): try %s failed: %s%s",
            row_id,
            document.pk,
            row.channel,
            row.attempts + 1,
            _reason(error),
            "; no more tries" if last else "",
        )
        if last:
            record_event(
                document.dossier,
                "delivery_failed",
                document=document,
                detail={"channel": row.channel, "outbox": row_id, "error": _reason(error)},
            )
        return False
    if not mark_sent(row_id, token):
        log.warning("outbox %s: sent, but its claim had lapsed and was taken over", row_id)
    else:
        log.info("outbox %s (document %s, %s) sent", row_id, document.pk, row.channel)
    return True


@dataclass(frozen=True)
class Delivery:
    """What one delivery run did."""

    sent: int = 0
    """Messages the servers accepted in this run."""

    failed: int = 0
    """Tries that failed in this run."""

    retry_in_s: float | None = None
    """Seconds until the earliest message that failed in this run is due again, if any."""

    delivered: bool = False
    """Whether the document is now DELIVERED (every message sent)."""


def deliver(document_id: int, *, now: datetime | None = None) -> Delivery:
    """Send every due message of a published document, each under its claim; once all are
    sent, mark the document DELIVERED."""
    now = now or timezone.now()
    document = Document.objects.select_related(
        "dossier", "dossier__office", "dossier__procedure"
    ).get(pk=document_id)
    if document.state != DocumentState.PUBLISHED:
        return Delivery(delivered=document.state == DocumentState.DELIVERED)
    outbox = OutboxMessage.objects.filter(document_id=document_id)
    due = outbox.filter(state=OutboxMessage.State.PENDING, next_attempt_at__lte=now)
    outcomes = {pk: send_message(pk, document, now=now) for pk in due.values_list("pk", flat=True)}
    failed = [pk for pk, sent in outcomes.items() if sent is False]
    retry_in = None
    again = outbox.filter(pk__in=failed, state=OutboxMessage.State.PENDING)
    earliest = again.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    if earliest is not None:
        retry_in = max(1.0, (earliest - now).total_seconds())
    delivered = not outbox.exclude(state=OutboxMessage.State.SENT).exists() and transition(
        document_id, DocumentState.PUBLISHED, DocumentState.DELIVERED, kind="delivered"
    )
    return Delivery(
        sent=sum(1 for sent in outcomes.values() if sent),
        failed=len(failed),
        retry_in_s=retry_in,
        delivered=delivered,
    )


def delivery_owed(document_id: int) -> bool:
    """Whether a published document still has something to deliver: a message pending, or
    nothing failed (so only the move to DELIVERED is owed)."""
    outbox = OutboxMessage.objects.filter(document_id=document_id)
    gave_up = outbox.filter(state=OutboxMessage.State.FAILED).exists()
    return not gave_up or outbox.filter(state=OutboxMessage.State.PENDING).exists()


def overdue_deliveries(*, grace_s: float, now: datetime | None = None) -> list[int]:
    """Published documents with a message pending, due ``grace_s`` ago or more, and held by
    no live sender: their delivery message was lost (a broker restart, a worker killed
    before it sent the next task), so the recovery sends it again without waiting for the
    document's stage limit. A delivery that is only slow has claimed its rows."""
    now = now or timezone.now()
    overdue = OutboxMessage.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        state=OutboxMessage.State.PENDING,
        next_attempt_at__lt=now - timedelta(seconds=grace_s),
        document__state=DocumentState.PUBLISHED,
    )
    return list(overdue.values_list("document_id", flat=True).distinct().order_by("document_id"))


def send_again(message_ids: Iterable[int], *, actor: str) -> int:
    """Put failed (or waiting) messages back in line now, from the admin; sent ones stay.

    Each gets a fresh series of tries; a claim that runs is left to its sender. The
    deliveries are queued once the transaction commits. Returns how many rows moved.
    """
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_related("document__dossier").filter(
                pk__in=list(message_ids),
                state__in=(OutboxMessage.State.FAILED, OutboxMessage.State.PENDING),
                document__state=DocumentState.PUBLISHED,
            )
        )
        for row in rows:
            if row.state == OutboxMessage.State.FAILED:
                OutboxMessage.objects.filter(pk=row.pk, state=row.state).update(
                    state=OutboxMessage.State.PENDING, attempts=0, next_attempt_at=now
                )
            else:
                OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=now)
            record_event(
                row.document.dossier,
                "delivery_resent",
                document=row.document,
                actor=actor,
                detail={"channel": row.channel, "outbox": row.pk},
            )
        for document_id in sorted({row.document_id for row in rows}):
            transaction.on_commit(
                partial(enqueue, "publishing.tasks.deliver_document", document_id)
            )
    return len(rows)
