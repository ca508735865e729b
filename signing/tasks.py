"""Celery tasks of the signing stage: automatic signing with the office's organisation key."""

from __future__ import annotations

from collections.abc import Collection

from celery import shared_task

from signing.services.autosign import due_for_retry, sign_automatically


@shared_task(acks_late=True)
def auto_sign_document(document_id: int) -> str:
    """Approve and sign one document with its office's organisation key (queue ``sign``).

    Takes only the id: the key's passphrase is read from its file in the worker,
    never carried in the message. Idempotent: a signed document, or one being
    signed by another worker, is left alone.
    """
    return sign_automatically(document_id)


def enqueue_due_auto_signatures(only: Collection[int] | None = None) -> int:
    """Put in line every document whose automatic signing is due again; return how many.

    ``only`` (automatic-signature record ids) limits it to those records.
    """
    due = due_for_retry(only=only)
    for document_id in due:
        auto_sign_document.delay(document_id)
    return len(due)
