"""The reconciler: re-enqueue documents that sit in a working state past its limit."""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from dossiers.models import Document, DocumentState

log = logging.getLogger(__name__)
WORKING = (DocumentState.RECEIVED, DocumentState.DIGITIZING)


@shared_task
def reconcile() -> dict[str, int]:
    """Find stuck documents and enqueue their stage again; tasks are idempotent.

    A killed worker, a lost message or a broker restart leaves a document in a
    working state; this puts it back in line. Work folders of documents past
    digitizing are removed (their pages live in the assembled PDF).
    """
    from digitize.tasks import dispatch_pending, prepare_document
    from publishing.tasks import deliver_document, delivery_owed, publish_document
    from signing.tasks import enqueue_due_auto_signatures

    now = timezone.now()
    counts: dict[str, int] = {}
    for state, limit_s in settings.STAGE_LIMITS_S.items():
        stuck = Document.objects.filter(
            state=state, state_changed_at__lt=now - timedelta(seconds=limit_s)
        ).values_list("pk", "page_count")
        for document_id, page_count in stuck:
            if state == DocumentState.RECEIVED:
                prepare_document.delay(document_id)
            elif state == DocumentState.DIGITIZING:
                if page_count:  # already split: only its unfinished pages
                    dispatch_pending(document_id)
                else:
                    prepare_document.delay(document_id)
            elif state == DocumentState.SIGNED:
                publish_document.delay(document_id)
            elif state == DocumentState.PUBLISHED:
                if not delivery_owed(document_id):
                    continue
                deliver_document.delay(document_id)
            counts[state] = counts.get(state, 0) + 1
    # automatic signatures due again: a lost message, a passing failure, a fixed key
    auto_signing = enqueue_due_auto_signatures()
    if auto_signing:
        counts["AUTO_SIGN"] = auto_signing
    work = Path(settings.WORK_DIR)
    if work.exists():
        active = {
            str(pk)
            for pk in Document.objects.filter(state__in=WORKING).values_list("pk", flat=True)
        }
        for folder in work.iterdir():
            # Only folders quiet for an hour: a document created after the query above
            # may just be starting to write its own.
            old = folder.stat().st_mtime < now.timestamp() - 3600
            if folder.is_dir() and folder.name not in active and old:
                shutil.rmtree(folder, ignore_errors=True)
    if counts:
        log.info("reconciler re-enqueued %s", counts)
    return counts
