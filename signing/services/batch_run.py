"""Signing a batch's approved documents: the bytes hashed are the ones signed, resumably, once."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services.record import Action, record
from dossiers.files import store_file
from dossiers.models import DocumentState
from dossiers.services.workflow import record_event, transition
from signing.engine.jobs import JobOutcome, SignJob
from signing.engine.run import sign_batch
from signing.errors import ApprovalError, SigningError
from signing.models import RUN_STALE_AFTER, Batch, BatchItem
from signing.services.approval import check_key, signer_for
from signing.services.decisions import finish_if_settled, record_decisions
from signing.services.options import document_stamp, sign_options_for, stamp_for
from signing.services.placement import place_stamp
from signing.stamp.text import StampText

__all__ = [
    "Progress",
    "SigningStart",
    "approve_batch",
    "claim_run",
    "run_alive",
    "sign_approved",
    "start_signing",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    document_id: int
    outcome: str


def claim_run(batch: Batch) -> bool:
    """Mark a signing run of ``batch`` as started; False while another run is alive."""
    now = timezone.now()
    return bool(
        Batch.objects.filter(pk=batch.pk)
        .filter(
            Q(signing_heartbeat_at__isnull=True) | Q(signing_heartbeat_at__lt=now - RUN_STALE_AFTER)
        )
        .update(signing_heartbeat_at=now, last_error="", progress_done=0)
    )


def run_alive(batch: Batch) -> bool:
    """Tell whether a signing run of ``batch`` reported recently."""
    beat = batch.signing_heartbeat_at
    return beat is not None and beat >= timezone.now() - RUN_STALE_AFTER


def sign_approved(
    batch: Batch,
    user: User,
    key: Any,
    *,
    progress: Callable[[Progress], None] | None = None,
    claimed: bool = False,
    processes: int | None = 1,
) -> list[Progress]:
    """Sign, here, every approved and not yet signed document of the batch.

    ``key`` is the unlocked signer (pyHanko ``Signer``); it lives only in this
    process (and, with ``processes`` > 1, in workers forked from it, which get it
    by inheritance, never through a pipe). Each file is read and hashed once: a
    file that changed since its approval is refused (the others are still
    signed), and the bytes hashed are the bytes signed, through the same batch
    engine as ``motcua sign``. Progress goes to the batch row after each document,
    so the web page can follow it. Running it again after an interruption signs
    what is left and never signs twice. ``claimed`` says the caller already won
    :func:`claim_run`.
    """
    if not claimed and not claim_run(batch):
        raise ApprovalError(f"Lô #{batch.pk} đang được ký ở một phiên khác; vui lòng chờ.")
    try:
        signer = signer_for(user, batch)
        check_key(signer, key)
        stamp = stamp_for(signer, batch)
        options = sign_options_for(batch, stamp)
        items = list(batch.items.select_related("document__dossier").order_by("pk"))
        total = len(items)
        Batch.objects.filter(pk=batch.pk).update(progress_total=total, progress_done=0)
        results: list[Progress] = []
        refused: list[str] = []
        errors: list[str] = []

        def report(item: BatchItem, outcome: str) -> None:
            step = Progress(
                done=len(results) + 1, total=total, document_id=item.document_id, outcome=outcome
            )
            results.append(step)
            Batch.objects.filter(pk=batch.pk).update(
                progress_done=step.done, signing_heartbeat_at=timezone.now()
            )
            if progress is not None:
                progress(step)

        to_sign: list[tuple[BatchItem, SignJob]] = []
        for item in items:
            prepared = _prepare_item(item, user, refused, stamp)
            if isinstance(prepared, str):
                report(item, prepared)
            else:
                to_sign.append((item, prepared))

        def signed_one(done: int, _total: int, _path: Path, outcome: JobOutcome) -> None:
            item, job = to_sign[done - 1]
            if outcome.ok:
                report(item, _record_signature(item, user, job.output))
            elif outcome.disposition == "quarantine":
                refused.append(f"Hồ sơ {item.document.dossier.code}: {outcome.message_vi}")
                report(item, "refused")
            else:
                errors.append(f"Hồ sơ {item.document.dossier.code}: {outcome.message_vi}")
                report(item, "failed")

        if to_sign:
            sign_batch(
                key,
                [job for _, job in to_sign],
                options,
                processes=processes,
                progress=signed_one,
            )
        if errors or refused:
            raise ApprovalError(" ".join(errors + refused))
        finish_if_settled(batch.pk)
        return results
    except SigningError as exc:  # ApprovalError included
        Batch.objects.filter(pk=batch.pk).update(last_error=exc.message_vi)
        raise
    finally:
        Batch.objects.filter(pk=batch.pk).update(signing_heartbeat_at=None)


def approve_batch(
    batch: Batch,
    user: User,
    key: Any,
    *,
    rejections: Mapping[int, str] | None = None,
    progress: Callable[[Progress], None] | None = None,
    expected_documents: Collection[int] | None = None,
    processes: int | None = 1,
) -> list[Progress]:
    """Record the official's decisions on a batch and sign the approved documents here.

    The key's certificate must be the official's (:func:`check_key`) before any
    decision is recorded. Every approval is bound to the document's SHA-256 at
    decision time (see :func:`record_decisions`), then :func:`sign_approved` signs in this process
    (``processes`` > 1, or None for one per CPU, forks signing workers from it).
    """
    check_key(signer_for(user, batch), key)
    record_decisions(batch, user, rejections=rejections, expected_documents=expected_documents)
    return sign_approved(batch, user, key, progress=progress, processes=processes)


SigningStart = Literal["signed", "started", "busy"]
"""What :func:`start_signing` did: signed at once, started a thread, or found a run alive."""


def start_signing(
    batch: Batch, user: User, key: Any, *, release: Callable[[], None] | None = None
) -> SigningStart:
    """Sign the batch's approved documents in a background thread of this process.

    The key never leaves the process; the thread (named ``ky-lo-<batch id>``)
    reports through the batch row (see :func:`sign_approved`). Inside a database
    transaction, which another thread could not see, it signs at once instead.
    ``release`` (e.g. closing a token session) runs once signing is over, or at
    once when nothing was started; from then on this function owns it.
    """
    started = False
    try:
        if transaction.get_connection().in_atomic_block:
            sign_approved(batch, user, key)
            return "signed"
        if not claim_run(batch):
            return "busy"
        thread = threading.Thread(
            target=_run_signing, args=(batch, user, key, release), name=f"ky-lo-{batch.pk}"
        )
        thread.daemon = True
        thread.start()
        started = True
        return "started"
    finally:
        if not started and release is not None:
            release()


def _run_signing(batch: Batch, user: User, key: Any, release: Callable[[], None] | None) -> None:
    """Body of the background signing thread of :func:`start_signing`."""
    try:
        sign_approved(batch, user, key, claimed=True)
    except SigningError as exc:
        log.warning("batch %s: signing stopped: %s", batch.pk, exc.message_vi)
    except Exception:
        log.exception("batch %s: signing failed", batch.pk)
        Batch.objects.filter(pk=batch.pk).update(
            last_error="Lỗi không mong đợi khi ký; xem nhật ký máy chủ.",
            signing_heartbeat_at=None,
        )
    finally:
        try:
            if release is not None:
                release()
        finally:
            connections.close_all()


def _signing_output(item: BatchItem) -> Path:
    """Where the engine writes an item's signed PDF before it enters the store."""
    return Path(settings.WORK_DIR) / "signing" / f"{item.batch_id}-{item.document_id}.pdf"


def _prepare_item(
    item: BatchItem, user: User, refused: list[str], stamp: StampText
) -> SignJob | str:
    """The signing job for an item whose approval allows it, or the outcome that ends it.

    Where the procedure's configured stamp place does not fit the document, an event
    says how it was adjusted (see :func:`signing.services.placement.place_stamp`).
    """
    if item.decision == BatchItem.Decision.REJECTED:
        return "rejected"
    if item.decision != BatchItem.Decision.APPROVED:
        return "skipped"
    if item.signed_at is not None:
        return "approved"
    document = item.document
    document.refresh_from_db()
    if document.state != DocumentState.APPROVED or not item.approved_sha256:
        return "skipped"
    # The bytes hashed are the bytes signed: no window for the file to change between.
    try:
        data = Path(document.pdf_path).read_bytes()
    except OSError:
        data = b""
    current = hashlib.sha256(data).hexdigest() if data else ""
    if current != item.approved_sha256:
        record_event(
            document.dossier,
            "sign_refused",
            document=document,
            actor=user.get_username(),
            detail={"approved_sha256": item.approved_sha256, "sha256": current},
        )
        refused.append(
            f"Tệp của hồ sơ {document.dossier.code} đã thay đổi sau khi phê duyệt; không ký."
        )
        return "refused"
    stamp = document_stamp(stamp, document)
    placed = place_stamp(document, stamp, data, user.get_username())
    output = _signing_output(item)
    output.parent.mkdir(parents=True, exist_ok=True)
    return SignJob(source=data, output=output, stamp=stamp, placed=placed)


def _record_signature(item: BatchItem, user: User, output: Path) -> str:
    """Move a signed output into the store and mark its document SIGNED, once."""
    try:
        signed_path, digest = store_file(output, Path(settings.STORE_DIR))
    except OSError as exc:
        raise ApprovalError("Không ghi được tệp đã ký vào kho lưu trữ.") from exc
    with transaction.atomic():
        marked = BatchItem.objects.filter(
            pk=item.pk, decision=BatchItem.Decision.APPROVED, signed_at__isnull=True
        ).update(signed_at=timezone.now())
        if not marked or not transition(
            item.document_id,
            DocumentState.APPROVED,
            DocumentState.SIGNED,
            kind="signed",
            actor=user.get_username(),
            detail={"sha256": digest, "approved_sha256": item.approved_sha256},
            signed_path=str(signed_path),
            signed_sha256=digest,
        ):
            transaction.set_rollback(True)
            return "skipped"
        record(
            Action.SIGNED,
            actor=user,
            office=item.document.dossier.office_id,
            obj=item.document,
            sha256=digest,
            detail={"batch": item.batch_id, "approved_sha256": item.approved_sha256},
        )
    return "signed"
