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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.queue import enqueue
from dossiers.models import Document, DocumentState, Dossier
from dossiers.services.workflow import record_event, transition
from publishing.models import OutboxMessage
from publishing.services.delivery_email import message_key, send_email
from publishing.services.delivery_sms import gateway, sms_text
from publishing.services.outbox import DELIVERY_RETRIES, LEASE_S, overdue, send_row

__all__ = [
    "DELIVERY_RETRIES",
    "DELIVERY_SOFT_TIME_LIMIT_S",
    "DELIVERY_TIME_LIMIT_S",
    "LEASE_S",
    "Delivery",
    "deliver",
    "delivery_owed",
    "masked",
    "overdue_deliveries",
    "queue_messages",
    "recipients",
    "send_again",
    "send_message",
]

log = logging.getLogger(__name__)

DELIVERY_SOFT_TIME_LIMIT_S = 240
"""Seconds a delivery task may run before it is interrupted (the try is then recorded)."""

DELIVERY_TIME_LIMIT_S = 300
"""Seconds after which the worker running a delivery task is killed."""


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


def _send(row: OutboxMessage, *, document: Document) -> None:
    if row.channel == OutboxMessage.Channel.EMAIL:
        send_email(row, document)
    else:
        gateway().send(row.recipient, sms_text(document.dossier), key=message_key(row, document))


def send_message(row_id: int, document: Document, *, now: datetime | None = None) -> bool | None:
    """Claim, send and record one outbox row: True sent, False failed, None not claimed."""

    def gave_up(row: OutboxMessage, why: str) -> None:
        record_event(
            document.dossier,
            "delivery_failed",
            document=document,
            detail={"channel": row.channel, "outbox": row.pk, "error": why},
        )

    return send_row(
        OutboxMessage,
        row_id,
        partial(_send, document=document),
        about=f"document {document.pk}",
        gave_up=gave_up,
        now=now,
    )


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
    no live sender (:func:`publishing.services.outbox.overdue`, which letters share): the
    recovery sends their delivery again without waiting for the document's stage limit."""
    return overdue(
        OutboxMessage,
        "document",
        grace_s=grace_s,
        owners=Q(document__state=DocumentState.PUBLISHED),
        now=now,
    )


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
