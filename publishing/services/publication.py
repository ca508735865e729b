"""Publication: a signed result is published once its signature is committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.queue import enqueue
from dossiers.models import Document, DocumentState

__all__ = ["on_state_changed"]


def on_state_changed(sender: object, *, document: Document, new: str, **_: Any) -> None:
    """Publish a document once its signature is committed."""
    if new == DocumentState.SIGNED:
        document_id = document.pk
        transaction.on_commit(lambda: enqueue("publishing.tasks.publish_document", document_id))
