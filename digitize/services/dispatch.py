"""Sending a document's digitize units to the queue, the intent stored before the message.

Each unit (a document's splitting, each page's OCR, the assembly) is marked queued on
its row in the caller's transaction, and its task is sent once that commits. A message
lost on the way (a broker that restarted, a worker killed with the message reserved, a
process killed between the commit and the send) leaves the mark behind: the lease sweep
(:func:`sweep_lapsed`) finds it lapsed after ``QUEUED_GRACE_S`` and sends the unit
again, whatever the size of its dossier. A second copy of a message that was only slow
finds its unit taken or done and does nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from core.queue import enqueue
from digitize.models import DocumentWork, Page
from dossiers.models import DocumentState
from dossiers.services.leases import lapsed, mark_queued

__all__ = [
    "STAGE_TASKS",
    "WORKING",
    "queue_assembly",
    "queue_pages",
    "queue_preparation",
    "sweep_lapsed",
]

WORKING = (DocumentState.RECEIVED, DocumentState.DIGITIZING)
"""The states in which a document's digitize units are still to be worked on."""

STAGE_TASKS = {
    DocumentWork.Stage.PREPARE: "digitize.tasks.prepare_document",
    DocumentWork.Stage.ASSEMBLE: "digitize.tasks.assemble_document",
}
"""The task that works each stage of a document run as one unit."""

_OCR_TASK = "digitize.tasks.ocr_page"


def _queue_stage(document_id: int, stage: DocumentWork.Stage) -> None:
    work, _ = DocumentWork.objects.get_or_create(document_id=document_id, stage=stage)
    mark_queued(DocumentWork, [work.pk])
    transaction.on_commit(lambda: enqueue(STAGE_TASKS[stage], document_id))


def queue_preparation(document_id: int) -> None:
    """Mark the document's splitting queued and send it once the caller's transaction commits."""
    _queue_stage(document_id, DocumentWork.Stage.PREPARE)


def queue_assembly(document_id: int) -> None:
    """Mark the document's assembly queued and send it once the caller's transaction commits."""
    _queue_stage(document_id, DocumentWork.Stage.ASSEMBLE)


def queue_pages(document_id: int) -> int:
    """Queue OCR for every page of the document not done yet, or its assembly when all are
    done; the number of pages queued."""
    pending = list(
        Page.objects.filter(document_id=document_id, done=False).values_list("pk", flat=True)
    )
    if not pending:
        queue_assembly(document_id)
        return 0
    _queue_page_ids(pending)
    return len(pending)


def _queue_page_ids(page_ids: list[int]) -> None:
    mark_queued(Page, page_ids)
    transaction.on_commit(lambda: _send_pages(page_ids))


def _send_pages(page_ids: list[int]) -> None:
    for page_id in page_ids:
        enqueue(_OCR_TASK, page_id)


def sweep_lapsed() -> dict[str, int]:
    """Send again the units whose worker died or whose message was lost (lease lapsed), each
    marked queued again so it is not sent twice before its grace; units of documents that
    left digitizing are only freed. Counts per kind of unit sent."""
    counts: dict[str, int] = {}
    pages = Page.objects.filter(pk__in=lapsed(Page))
    _free(pages.exclude(document__state__in=WORKING))
    page_ids = list(pages.filter(document__state__in=WORKING).values_list("pk", flat=True))
    if page_ids:
        _queue_page_ids(page_ids)
        counts["page"] = len(page_ids)
    works = DocumentWork.objects.filter(pk__in=lapsed(DocumentWork))
    _free(works.exclude(document__state__in=WORKING))
    for document_id, stage in works.filter(document__state__in=WORKING).values_list(
        "document_id", "stage"
    ):
        _queue_stage(document_id, DocumentWork.Stage(stage))
        counts[stage] = counts.get(stage, 0) + 1
    return counts


def _free(units: QuerySet[Any]) -> None:
    """Clear the lapsed marks of units nobody will work on any more."""
    units.update(lease_holder="", lease_until=None)
