"""Celery tasks that publish a signed result and deliver it to the citizen."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.db import transaction

from dossiers.models import DocumentState
from dossiers.services.leases import QUEUED_GRACE_S
from dossiers.services.recovery import stuck_documents
from publishing.services.delivery import (
    DELIVERY_SOFT_TIME_LIMIT_S,
    DELIVERY_TIME_LIMIT_S,
    deliver,
    delivery_owed,
    overdue_deliveries,
)
from publishing.services.letter_delivery import letters_owed
from publishing.services.publication import publish

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def publish_document(document_id: int) -> None:
    """Resolve the dossier, queue the citizen's messages and mark the result published."""
    if publish(document_id):
        transaction.on_commit(lambda: deliver_document.delay(document_id))


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=None,
    soft_time_limit=DELIVERY_SOFT_TIME_LIMIT_S,
    time_limit=DELIVERY_TIME_LIMIT_S,
)
def deliver_document(self: Task, document_id: int) -> None:  # type: ignore[type-arg]
    """Send the due messages of a published document; come back when a failed one is due.

    The retries end because each message is FAILED after its last try
    (``publishing.services.delivery.DELIVERY_RETRIES``).
    """
    outcome = deliver(document_id)
    if outcome.retry_in_s is not None:
        raise self.retry(countdown=outcome.retry_in_s)


@shared_task
def recover_publishing() -> dict[str, int]:
    """Put back in line the signed results not yet published and the deliveries still owed:
    a document past its stage's limit, or a message overdue by the grace of a lost one;
    and the signed letters whose delivery was lost (none of their messages queued, or
    one overdue by the same grace)."""
    counts: dict[str, int] = {}
    for document_id, _ in stuck_documents(DocumentState.SIGNED):
        publish_document.delay(document_id)
        counts["SIGNED"] = counts.get("SIGNED", 0) + 1
    owed = {pk for pk, _ in stuck_documents(DocumentState.PUBLISHED) if delivery_owed(pk)}
    owed.update(overdue_deliveries(grace_s=QUEUED_GRACE_S))
    for document_id in sorted(owed):
        deliver_document.delay(document_id)
        counts["PUBLISHED"] = counts.get("PUBLISHED", 0) + 1
    for letter_id in letters_owed(grace_s=QUEUED_GRACE_S):
        deliver_letter.delay(letter_id)
        counts["LETTERS"] = counts.get("LETTERS", 0) + 1
    if counts:
        log.info("publishing recovery re-enqueued %s", counts)
    return counts


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=None,
    soft_time_limit=DELIVERY_SOFT_TIME_LIMIT_S,
    time_limit=DELIVERY_TIME_LIMIT_S,
)
def deliver_letter(self: Task, letter_id: int) -> None:  # type: ignore[type-arg]
    """Send a signed letter to the citizen; come back when a failed message is due again."""
    from django.utils import timezone

    from publishing.models import LetterMessage, OutboxMessage
    from publishing.services.letter_delivery import deliver_letter as send

    _sent, failed, _done = send(letter_id)
    if failed:
        waiting = LetterMessage.objects.filter(
            letter_id=letter_id, state=OutboxMessage.State.PENDING
        ).order_by("next_attempt_at")
        earliest = waiting.values_list("next_attempt_at", flat=True).first()
        if earliest is not None:
            raise self.retry(countdown=max(1.0, (earliest - timezone.now()).total_seconds()))
