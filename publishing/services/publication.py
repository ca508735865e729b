"""Publication: a signed result is published once its signature is committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.queue import enqueue
from dossiers.models import Document, DocumentState
from dossiers.services.workflow import resolve_dossier, transition
from publishing.services.delivery import queue_messages

__all__ = ["on_state_changed", "publish"]


def on_state_changed(sender: object, *, document: Document, new: str, **_: Any) -> None:
    """Publish a document once its signature is committed."""
    if new == DocumentState.SIGNED:
        document_id = document.pk
        transaction.on_commit(lambda: enqueue("publishing.tasks.publish_document", document_id))


def publish(document_id: int) -> bool:
    """Resolve the dossier, queue the citizen's messages and mark the result published, in
    one transaction; True when its delivery is owed (also for a redelivered publication)."""
    document = Document.objects.select_related("dossier").get(pk=document_id)
    if document.state != DocumentState.SIGNED:
        return document.state == DocumentState.PUBLISHED
    with transaction.atomic():
        if not transition(
            document_id, DocumentState.SIGNED, DocumentState.PUBLISHED, kind="published"
        ):
            return False
        resolve_dossier(document.dossier, document)
        queue_messages(document)
    return True
