"""Celery tasks of the signing stage: automatic signing with the organisation key, recovery."""

from __future__ import annotations

from celery import shared_task

from signing.services.autosign import sign_automatically
from signing.services.autosign_plan import enqueue_due_auto_signatures


@shared_task(acks_late=True)
def auto_sign_document(document_id: int) -> str:
    """Approve and sign one document with its office's organisation key (queue ``sign``).

    Takes only the id: the key's passphrase is read from its file in the worker,
    never carried in the message. Idempotent: a signed document, or one being
    signed by another worker, is left alone.
    """
    return sign_automatically(document_id)


@shared_task
def recover_signing() -> dict[str, int]:
    """Put in line the automatic signatures due again: a lost message, a passing failure."""
    due = enqueue_due_auto_signatures()
    return {"AUTO_SIGN": due} if due else {}
