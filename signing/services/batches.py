"""Batches: documents awaiting approval gathered by office, signer and procedure, and counted."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from dossiers.models import Document, DocumentState
from signing.models import Batch, BatchItem, Signer

__all__ = [
    "BATCH_MAX_AGE",
    "BATCH_SIZE",
    "LOW_CONFIDENCE",
    "batch_counts",
    "on_state_changed",
]

log = logging.getLogger(__name__)

BATCH_SIZE = 50
"""A batch takes no new documents once it holds this many."""

BATCH_MAX_AGE = dt.timedelta(hours=24)
"""A batch takes no new documents once it is this old; the next one opens a new batch."""

LOW_CONFIDENCE = 80.0
"""Mean OCR confidence (0–100) under which the review page flags a document."""


def on_state_changed(sender: object, *, document: Document, new: str, **_: Any) -> None:
    """Put a document that awaits approval into the open batch of its office, signer, procedure.

    A batch takes new documents while it holds fewer than BATCH_SIZE and is younger
    than BATCH_MAX_AGE; otherwise a new batch opens. An item already decided is never
    moved or reset: its approval cannot be replayed in another batch.
    """
    if new != DocumentState.AWAITING_APPROVAL:
        return
    dossier = document.dossier
    signer = Signer.objects.filter(office=dossier.office_id, active=True).order_by("pk").first()
    existing = BatchItem.objects.filter(document=document).first()
    if existing is not None and existing.decision != BatchItem.Decision.PENDING:
        log.warning("document %s already has a decision; not batched again", document.pk)
        return
    batch = (
        Batch.objects.select_for_update()
        .filter(
            office=dossier.office_id,
            signer=signer,
            procedure=dossier.procedure_id,
            state=Batch.State.OPEN,
            created_at__gte=timezone.now() - BATCH_MAX_AGE,
        )
        .order_by("created_at")
        .last()
    )
    if batch is None or batch.items.count() >= BATCH_SIZE:
        batch = Batch.objects.create(
            office_id=dossier.office_id, signer=signer, procedure_id=dossier.procedure_id
        )
    BatchItem.objects.update_or_create(document=document, defaults={"batch": batch})


def batch_counts(batch: Batch) -> dict[str, int]:
    """Count the batch's items: total, pending, approved (unsigned), signed, rejected."""
    counts = batch.items.aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=Q(decision=BatchItem.Decision.PENDING)),
        approved=Count(
            "pk", filter=Q(decision=BatchItem.Decision.APPROVED, signed_at__isnull=True)
        ),
        signed=Count("pk", filter=Q(signed_at__isnull=False)),
        rejected=Count("pk", filter=Q(decision=BatchItem.Decision.REJECTED)),
    )
    return {name: int(value or 0) for name, value in counts.items()}
