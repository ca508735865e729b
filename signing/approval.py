"""Batches and approvals: who may sign what, bound to the document's exact hash."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from dossiers.files import sha256_file, store_bytes
from dossiers.models import Document, DocumentState
from dossiers.workflow import transition
from signing.errors import SigningError
from signing.models import Batch, BatchItem, Signer
from signing.pades import SignOptions, StampText, sign_pdf

log = logging.getLogger(__name__)
BATCH_SIZE = 50


class ApprovalError(Exception):
    """The approval cannot go on; ``message_vi`` tells the official why."""

    def __init__(self, message_vi: str) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi


def on_state_changed(sender: object, *, document: Document, new: str, **_: Any) -> None:
    """Put a document that awaits approval into its office's open batch."""
    if new != DocumentState.AWAITING_APPROVAL:
        return
    office = document.dossier.office
    batch = (
        Batch.objects.select_for_update()
        .filter(office=office, state=Batch.State.OPEN)
        .order_by("created_at")
        .last()
    )
    if batch is None or batch.items.count() >= BATCH_SIZE:
        signer = Signer.objects.filter(office=office, active=True).order_by("pk").first()
        batch = Batch.objects.create(office=office, signer=signer)
    BatchItem.objects.update_or_create(document=document, defaults={"batch": batch})


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    document_id: int
    outcome: str


def signer_for(user: User, batch: Batch) -> Signer:
    """The user's signer role for the batch's office, or an ApprovalError."""
    signer = Signer.objects.filter(user=user, office=batch.office, active=True).first()
    if signer is None:
        raise ApprovalError(
            f"Tài khoản {user.get_username()} không có quyền ký cho {batch.office.name}."
        )
    return signer


def approve_batch(
    batch: Batch,
    user: User,
    key: Any,
    *,
    rejections: Mapping[int, str] | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> list[Progress]:
    """Record the official's decisions on a batch and sign the approved documents here.

    ``key`` is the unlocked signer (pyHanko ``Signer``); it lives only in this
    process. Every approval is bound to the document's SHA-256 at decision time,
    and the file is hashed again just before signing: a changed file is refused.
    Re-running on an interrupted batch signs what is left and never signs twice.
    """
    signer = signer_for(user, batch)
    rejections = dict(rejections or {})
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        if locked.state == Batch.State.DONE:
            raise ApprovalError(f"Lô #{batch.pk} đã ký xong.")
        if locked.state == Batch.State.OPEN:
            Batch.objects.filter(pk=batch.pk).update(
                state=Batch.State.SIGNING, closed_at=timezone.now()
            )
    items = list(batch.items.select_related("document", "document__dossier").order_by("pk"))
    total = len(items)
    results: list[Progress] = []
    stamp = StampText(
        signer_name=signer.display_name,
        office_name=batch.office.name,
        font_path=settings.STAMP_FONT,
    )
    for n, item in enumerate(items, start=1):
        outcome = _decide_and_sign(item, user, key, stamp, rejections.get(item.document_id))
        step = Progress(done=n, total=total, document_id=item.document_id, outcome=outcome)
        results.append(step)
        if progress is not None:
            progress(step)
    Batch.objects.filter(pk=batch.pk).update(state=Batch.State.DONE)
    return results


def _decide_and_sign(
    item: BatchItem, user: User, key: Any, stamp: StampText, rejection: str | None
) -> str:
    document = item.document
    actor = user.get_username()
    if item.decision == BatchItem.Decision.PENDING:
        if document.state != DocumentState.AWAITING_APPROVAL:
            return "skipped"
        if rejection is not None:
            if transition(
                document.pk,
                DocumentState.AWAITING_APPROVAL,
                DocumentState.REJECTED,
                kind="rejected",
                actor=actor,
                reason=rejection,
            ):
                BatchItem.objects.filter(pk=item.pk).update(
                    decision=BatchItem.Decision.REJECTED,
                    reason=rejection,
                    decided_by=user,
                    decided_at=timezone.now(),
                )
            return "rejected"
        with transaction.atomic():
            if not transition(
                document.pk,
                DocumentState.AWAITING_APPROVAL,
                DocumentState.APPROVED,
                kind="approved",
                actor=actor,
                detail={"sha256": document.pdf_sha256},
            ):
                return "skipped"
            BatchItem.objects.filter(pk=item.pk).update(
                decision=BatchItem.Decision.APPROVED,
                decided_by=user,
                decided_at=timezone.now(),
                approved_sha256=document.pdf_sha256,
            )
        item.refresh_from_db()
    if item.decision != BatchItem.Decision.APPROVED or item.signed_at is not None:
        return item.decision
    document.refresh_from_db()
    if document.state != DocumentState.APPROVED:
        return "skipped"
    path = Path(document.pdf_path)
    if not item.approved_sha256 or sha256_file(path) != item.approved_sha256:
        raise ApprovalError(
            f"Tệp của hồ sơ {document.dossier.code} đã thay đổi sau khi phê duyệt; không ký."
        )
    try:
        signed = sign_pdf(path.read_bytes(), key, SignOptions(stamp=stamp))
    except SigningError as exc:
        raise ApprovalError(exc.message_vi) from exc
    signed_path, digest = store_bytes(signed, Path(settings.STORE_DIR))
    with transaction.atomic():
        if transition(
            document.pk,
            DocumentState.APPROVED,
            DocumentState.SIGNED,
            kind="signed",
            actor=actor,
            detail={"sha256": digest, "approved_sha256": item.approved_sha256},
            signed_path=str(signed_path),
            signed_sha256=digest,
        ):
            BatchItem.objects.filter(pk=item.pk).update(signed_at=timezone.now())
    return "signed"
