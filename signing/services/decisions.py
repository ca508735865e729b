"""Decisions on batch items: approving binds the document's SHA-256, rejecting goes to the clerk."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services.record import Action, record
from dossiers.models import Document, DocumentState
from dossiers.services.workflow import transition
from signing.errors import ApprovalError
from signing.models import Batch, BatchItem
from signing.services.approval import signer_for

__all__ = [
    "approve_item",
    "finish_if_settled",
    "record_decisions",
    "reject_item",
]


def reject_item(item: BatchItem, user: User, reason: str) -> bool:
    """Send a pending item's document back to the clerk with ``reason``; False if not pending."""
    reason = reason.strip()
    if not reason:
        raise ApprovalError(f"Cần ghi lý do từ chối hồ sơ {item.document.dossier.code}.")
    with transaction.atomic():
        decided = BatchItem.objects.filter(pk=item.pk, decision=BatchItem.Decision.PENDING).update(
            decision=BatchItem.Decision.REJECTED,
            reason=reason,
            decided_by=user,
            decided_at=timezone.now(),
        )
        if not decided:
            return False
        if not transition(
            item.document_id,
            DocumentState.AWAITING_APPROVAL,
            DocumentState.REJECTED,
            kind="rejected",
            actor=user.get_username(),
            reason=reason,
        ):
            transaction.set_rollback(True)
            return False
        record(
            Action.REJECTED,
            actor=user,
            office=item.document.dossier.office_id,
            obj=item.document,
            sha256=item.document.pdf_sha256,
            detail={"batch": item.batch_id},
        )
    return True


def approve_item(item: BatchItem, user: User) -> None:
    """Approve a pending item, binding the approval to the document's SHA-256.

    An item is approved once: approving it again (a replayed approval) is refused,
    as is approving a document that no longer awaits approval.
    """
    if not _approve(item, user):
        raise ApprovalError(
            f"Hồ sơ {item.document.dossier.code} đã có quyết định hoặc không còn chờ phê duyệt; "
            "không phê duyệt lại."
        )


def _approve(item: BatchItem, user: User) -> bool:
    document = Document.objects.get(pk=item.document_id)
    with transaction.atomic():
        decided = BatchItem.objects.filter(pk=item.pk, decision=BatchItem.Decision.PENDING).update(
            decision=BatchItem.Decision.APPROVED,
            decided_by=user,
            decided_at=timezone.now(),
            approved_sha256=document.pdf_sha256,
        )
        if not decided or not document.pdf_sha256:
            transaction.set_rollback(True)
            return False
        if not transition(
            document.pk,
            DocumentState.AWAITING_APPROVAL,
            DocumentState.APPROVED,
            kind="approved",
            actor=user.get_username(),
            detail={"sha256": document.pdf_sha256},
        ):
            transaction.set_rollback(True)
            return False
        record(
            Action.APPROVED,
            actor=user,
            office=document.dossier.office_id,
            obj=document,
            sha256=document.pdf_sha256,
            detail={"batch": item.batch_id},
        )
    return True


def record_decisions(
    batch: Batch,
    user: User,
    *,
    rejections: Mapping[int, str] | None = None,
    approve_rest: bool = True,
    expected_documents: Collection[int] | None = None,
) -> None:
    """Record the official's decisions on the batch's pending items.

    ``rejections`` maps document ids to reasons; with ``approve_rest`` every other
    pending item is approved (and the batch closes to new documents). When
    ``expected_documents`` is given (the documents the official had on screen), a
    pending document outside it makes the whole decision refused: nothing is
    approved unseen.
    """
    signer_for(user, batch)
    rejections = dict(rejections or {})
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        if locked.state == Batch.State.DONE:
            raise ApprovalError(f"Lô #{batch.pk} đã ký xong.")
        pending = list(
            locked.items.filter(decision=BatchItem.Decision.PENDING)
            .select_related("document__dossier")
            .order_by("pk")
        )
        if expected_documents is not None:
            seen = set(expected_documents)
            unseen = [i for i in pending if i.document_id not in seen]
            if unseen:
                raise ApprovalError(
                    f"Lô #{batch.pk} vừa có thêm {len(unseen)} hồ sơ chưa xem; "
                    "hãy xem lại trước khi phê duyệt."
                )
        if approve_rest and locked.state == Batch.State.OPEN:
            Batch.objects.filter(pk=batch.pk).update(
                state=Batch.State.SIGNING, closed_at=timezone.now()
            )
        for item in pending:
            if item.document_id in rejections:
                reject_item(item, user, rejections[item.document_id])
            elif approve_rest and item.document.state == DocumentState.AWAITING_APPROVAL:
                _approve(item, user)
        finish_if_settled(batch.pk)


def finish_if_settled(batch_id: int) -> None:
    """Mark the batch done when no item waits for a decision or a signature."""
    waiting = BatchItem.objects.filter(batch=batch_id).filter(
        Q(decision=BatchItem.Decision.PENDING)
        | Q(decision=BatchItem.Decision.APPROVED, signed_at__isnull=True)
    )
    if not waiting.exists():
        Batch.objects.filter(pk=batch_id).exclude(state=Batch.State.DONE).update(
            state=Batch.State.DONE, closed_at=timezone.now()
        )
