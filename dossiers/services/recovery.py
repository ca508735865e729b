"""Recovery queries: the documents that sit in a working state past their stage's limit."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from dossiers.models import Document, DocumentState

__all__ = ["active_document_ids", "stuck_documents"]


def stuck_documents(state: DocumentState) -> list[tuple[int, int]]:
    """``(id, page count)`` of the documents in ``state`` for longer than its stage's limit.

    The limits are ``settings.STAGE_LIMITS_S`` (seconds per state); a state without a
    limit has nothing stuck. Each package's scheduled recovery puts these back in line;
    their tasks are idempotent, so one that was merely slow is not done twice.
    """
    limit_s = settings.STAGE_LIMITS_S.get(state)
    if limit_s is None:
        return []
    since = timezone.now() - timedelta(seconds=limit_s)
    return list(
        Document.objects.filter(state=state, state_changed_at__lt=since)
        .order_by("pk")
        .values_list("pk", "page_count")
    )


def active_document_ids(states: tuple[DocumentState, ...]) -> set[int]:
    """Ids of the documents now in one of ``states``."""
    return set(Document.objects.filter(state__in=states).values_list("pk", flat=True))
