"""Planning automatic signatures: where a digitized document goes, retries, hand-over."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.queue import enqueue
from dossiers.models import Document, DocumentState
from dossiers.services.leases import QUEUED_GRACE_S
from dossiers.services.workflow import record_event, transition
from signing.models import RUN_STALE_AFTER, AutoSignature, AutoSignPolicy, OrganisationKey
from signing.services import batches as batching

__all__ = [
    "FIRST_TRY_WITHIN",
    "due_for_retry",
    "enqueue_due_auto_signatures",
    "hand_over",
    "on_state_changed",
]

FIRST_TRY_WITHIN = dt.timedelta(seconds=QUEUED_GRACE_S)
"""A document planned for automatic signing and not tried by then is put in line again: the
grace every stage gives a sent message (a worker killed between the commit that planned it
and the send loses it; it is then sent again within this and one recovery interval)."""


# --- the decision: where a digitized document goes ---------------------------------------------


def on_state_changed(sender: object, *, document: Document, new: str, **kwargs: Any) -> None:
    """Send a document that awaits approval to automatic signing, else to the officials' batch.

    Runs inside the transition's transaction. A document goes to automatic
    signing once, when its office's (or procedure's) policy says so and the
    office has an active organisation key; one handed over to the officials,
    or of an office without a usable key, joins the batch as before.
    """
    if new != DocumentState.AWAITING_APPROVAL:
        return
    if not _plan(document):
        batching.on_state_changed(sender, document=document, new=new, **kwargs)


def _plan(document: Document) -> bool:
    """Plan automatic signing of ``document`` after commit; False when officials decide."""
    existing = AutoSignature.objects.filter(document=document).first()
    if existing is not None:
        if existing.handed_over_at is not None:
            return False
        _enqueue_after_commit(document.pk)
        return True
    dossier = document.dossier
    if not AutoSignPolicy.applies(dossier.office_id, dossier.procedure_id):
        return False
    if dossier.procedure.stamp_layout == "personal":
        record_event(
            dossier,
            "auto_sign_unavailable",
            document=document,
            detail={
                "reason": f"Thủ tục {dossier.procedure.code} dùng mẫu chữ ký cá nhân; khóa tổ "
                "chức không ký tự động được; chuyển lãnh đạo ký."
            },
        )
        return False
    key = OrganisationKey.objects.filter(office=dossier.office_id, active=True).first()
    if key is None:
        record_event(
            dossier,
            "auto_sign_unavailable",
            document=document,
            detail={"reason": "Cơ quan chưa có khóa ký của tổ chức đang dùng; chuyển lãnh đạo ký."},
        )
        return False
    AutoSignature.objects.create(
        document=document, organisation_key=key, retry_at=timezone.now() + FIRST_TRY_WITHIN
    )
    record_event(dossier, "auto_sign_planned", document=document)
    _enqueue_after_commit(document.pk)
    return True


def _enqueue_after_commit(document_id: int) -> None:
    transaction.on_commit(lambda: enqueue("signing.tasks.auto_sign_document", document_id))


# --- what the scheduler and the administrator do -----------------------------------------------


def due_for_retry(
    now: dt.datetime | None = None, *, only: Collection[int] | None = None
) -> list[int]:
    """Ids of documents whose automatic signing is due again; each is given time to run.

    Covers a lost message as well as a planned retry: every unsigned record with a
    time to try that has passed, and no live attempt. ``only`` (record ids) limits
    it to those records, e.g. the ones an administrator selected.
    """
    now = now or timezone.now()
    records = (
        AutoSignature.objects.all() if only is None else AutoSignature.objects.filter(pk__in=only)
    )
    due = (
        records.filter(signed_at__isnull=True, handed_over_at__isnull=True, retry_at__lte=now)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=now - RUN_STALE_AFTER))
        .values_list("pk", "document_id")
    )
    picked = dict(due)
    AutoSignature.objects.filter(pk__in=picked, retry_at__lte=now).update(
        retry_at=now + FIRST_TRY_WITHIN
    )
    return sorted(picked.values())


def enqueue_due_auto_signatures(only: Collection[int] | None = None) -> int:
    """Put in line every document whose automatic signing is due again; return how many.

    ``only`` (automatic-signature record ids) limits it to those records.
    """
    due = due_for_retry(only=only)
    for document_id in due:
        enqueue("signing.tasks.auto_sign_document", document_id)
    return len(due)


def hand_over(record: AutoSignature, actor: str) -> bool:
    """Give an unsigned document back to the officials' batch; False when it cannot be.

    For a document the service cannot sign (its key is gone, its file refused):
    it goes back to awaiting approval and joins its office's batch, so an
    official decides. A document being signed right now is not handed over.
    """
    now = timezone.now()
    with transaction.atomic():
        taken = (
            AutoSignature.objects.filter(
                pk=record.pk, signed_at__isnull=True, handed_over_at__isnull=True
            )
            .filter(Q(running_since__isnull=True) | Q(running_since__lt=now - RUN_STALE_AFTER))
            .update(handed_over_at=now, retry_at=None)
        )
        if not taken or not transition(
            record.document_id,
            (DocumentState.AWAITING_APPROVAL, DocumentState.APPROVED),
            DocumentState.AWAITING_APPROVAL,
            kind="auto_sign_handed_over",
            actor=actor,
            reason="",
        ):
            transaction.set_rollback(True)
            return False
    return True
