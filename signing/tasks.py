"""Celery tasks of the signing stage: automatic signing with the organisation key, recovery."""

from __future__ import annotations

from celery import shared_task

from dossiers.services.leases import lapsed, working
from signing.models import AutoSignature
from signing.services.autosign import give_up, sign_automatically, take_over
from signing.services.autosign_plan import enqueue_due_auto_signatures


@shared_task(acks_late=True)
def auto_sign_document(document_id: int) -> str:
    """Approve and sign one document with its office's organisation key (queue ``sign``).

    Takes only the id: the key's passphrase is read from its file in the worker,
    never carried in the message. Idempotent: a signed document, or one being
    signed by another worker, is left alone. Runs under a lease on the record, renewed
    while it signs: a worker killed mid-signature is taken over as soon as its lease
    lapses (at once when it was a process of this host), and one that dies every time
    stops the tries with the reason for a person.
    """
    record_id = (
        AutoSignature.objects.filter(document=document_id).values_list("pk", flat=True).first()
    )
    if record_id is None:
        return "skipped"
    with working(AutoSignature, record_id) as lease:
        if lease.outcome == "held":
            return "busy"
        if lease.outcome == "poisoned":
            give_up(
                document_id,
                f"việc ký làm dừng tiến trình xử lý {lease.claims - 1} lần liên tiếp; "
                "cần quản trị viên xem xét.",
            )
            return "failed"
        if lease.claims > 1:  # the holder before us died mid-signature
            take_over(document_id)
        return sign_automatically(document_id)


@shared_task
def recover_signing_leases() -> dict[str, int]:
    """Put back in line at once the automatic signatures whose worker died (lease lapsed)."""
    ids = AutoSignature.objects.filter(pk__in=lapsed(AutoSignature))
    documents = list(ids.values_list("document_id", flat=True))
    for document_id in documents:
        auto_sign_document.delay(document_id)
    return {"AUTO_SIGN_LEASE": len(documents)} if documents else {}


@shared_task
def recover_signing() -> dict[str, int]:
    """Put in line the automatic signatures due again: a lost message, a passing failure."""
    due = enqueue_due_auto_signatures()
    return {"AUTO_SIGN": due} if due else {}
