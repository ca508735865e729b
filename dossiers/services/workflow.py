"""Document state transitions: conditional, audited, announced after commit."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from dossiers.models import Document, DocumentState, Dossier, Event
from dossiers.services.search import fold

log = logging.getLogger(__name__)

#: Sent inside the transition's transaction with ``document``, ``old`` and ``new``.
state_changed = Signal()


def record_event(
    dossier: Dossier,
    kind: str,
    *,
    document: Document | None = None,
    actor: str = "",
    detail: dict[str, Any] | None = None,
    from_state: str = "",
    to_state: str = "",
) -> Event:
    """Append one audit event; personal data never goes into ``detail``."""
    return Event.objects.create(
        dossier=dossier,
        document=document,
        kind=kind,
        actor=actor,
        detail=detail or {},
        from_state=from_state,
        to_state=to_state,
    )


def transition(
    document_id: int,
    expected: DocumentState | tuple[DocumentState, ...],
    new: DocumentState,
    *,
    kind: str,
    actor: str = "",
    detail: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Move a document from an expected state to ``new`` with its event, atomically.

    The update is conditional (``UPDATE … WHERE state IN expected``), so when two
    workers race over the same document exactly one wins; the loser gets False
    and must leave the document alone.
    """
    allowed = (expected,) if isinstance(expected, str) else expected
    if "text" in fields:  # update() skips save(), so keep the search text in step here
        fields["text_folded"] = fold(fields["text"])
    with transaction.atomic():
        updated = Document.objects.filter(pk=document_id, state__in=allowed).update(
            state=new, state_changed_at=timezone.now(), **fields
        )
        if not updated:
            return False
        document = Document.objects.select_related("dossier").get(pk=document_id)
        old = ",".join(allowed)
        record_event(
            document.dossier,
            kind,
            document=document,
            actor=actor,
            detail=detail,
            from_state=old if len(allowed) == 1 else "",
            to_state=new,
        )
        state_changed.send(sender=Document, document=document, old=allowed, new=new)
    log.info("document %s: %s -> %s (%s)", document_id, old, new, kind)
    return True


def start_processing(dossier: Dossier) -> bool:
    """Mark a received dossier as being processed (its first scans arrived); False if it was."""
    return bool(
        Dossier.objects.filter(pk=dossier.pk, status=Dossier.Status.RECEIVED).update(
            status=Dossier.Status.PROCESSING
        )
    )


def resolve_dossier(dossier: Dossier, document: Document) -> bool:
    """Mark the dossier resolved now by ``document`` with its timeliness, once.

    The first resolution wins (a redelivered publication changes nothing); the event
    records whether it came early, on time or late against the due date.
    """
    updated = Dossier.objects.filter(pk=dossier.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), status=Dossier.Status.RESOLVED
    )
    if not updated:
        return False
    dossier.refresh_from_db()
    record_event(
        dossier, "resolved", document=document, detail={"timeliness": dossier.timeliness or ""}
    )
    return True


def fail_document(
    document_id: int,
    reason_vi: str,
    *,
    expected: tuple[DocumentState, ...] = (DocumentState.RECEIVED, DocumentState.DIGITIZING),
    detail: dict[str, Any] | None = None,
    needs_admin: bool = False,
) -> bool:
    """Mark a document FAILED with a clerk-readable reason and keep its files in failed/.

    The originals move from the intake archive into a dated folder under failed/
    beside a reason file, so nothing is lost and the clerk can fix and re-drop them.
    ``needs_admin`` says the cause is on the server (configuration, a bug, retries spent),
    so the reason file sends the clerk to the administrator instead of the scanner.
    """
    from django.conf import settings

    from dossiers.files import ADMIN_ACTION_VI, CLERK_ACTION_VI, original_name, quarantine

    if not transition(
        document_id, expected, DocumentState.FAILED, kind="failed", detail=detail, reason=reason_vi
    ):
        return False
    document = Document.objects.get(pk=document_id)
    source = Path(document.source_dir)
    if source.exists():
        name = original_name(source)
        kept = quarantine(
            source,
            settings.FAILED_DIR,
            reason_vi,
            detail={"document": str(document_id)},
            name=name,
            action_vi=ADMIN_ACTION_VI if needs_admin else CLERK_ACTION_VI,
        )
        Document.objects.filter(pk=document_id).update(source_dir=str(kept / name))
    return True
