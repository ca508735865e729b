"""Batches and approvals: who may sign what, bound to the document's exact hash."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections, transaction
from django.db.models import Count, Q
from django.utils import timezone

from dossiers.files import store_file
from dossiers.models import Document, DocumentState, Office, Procedure
from dossiers.workflow import record_event, transition
from signing.batch_jobs import JobOutcome, SignJob
from signing.engine import sign_batch
from signing.errors import SigningError
from signing.keys import check_belongs_to, check_signing_certificate, load_pkcs12_signer
from signing.models import Batch, BatchItem, OfficeSigningPolicy, Signer
from signing.pades import SignOptions, StampText
from signing.pkcs11 import TokenSession, open_token
from signing.placement import note_adjustments, procedure_placement
from signing.stamp import Layout, placement_for
from signing.timestamps import level_at_least, revocation_context
from signing.verify import load_trust_roots

log = logging.getLogger(__name__)

BATCH_SIZE = 50
"""A batch takes no new documents once it holds this many."""

BATCH_MAX_AGE = dt.timedelta(hours=24)
"""A batch takes no new documents once it is this old; the next one opens a new batch."""

LOW_CONFIDENCE = 80.0
"""Mean OCR confidence (0–100) under which the review page flags a document."""

RUN_STALE_AFTER = dt.timedelta(seconds=90)
"""A signing run that has not reported for this long is taken to be dead (resumable)."""

VERIFY_PATH = "/kiem-tra/"
"""Path of the public verification page that the stamp's QR code leads to."""


class ApprovalError(Exception):
    """The approval cannot go on; ``message_vi`` tells the official why."""

    def __init__(self, message_vi: str) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi


# --- gathering documents into batches ------------------------------------------------------


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


# --- who may decide, and what the stamp says --------------------------------------------------


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    document_id: int
    outcome: str


def signer_for(user: User, batch: Batch) -> Signer:
    """The user's signer role for the batch's office, or an ApprovalError."""
    signer = Signer.objects.filter(user=user, office=batch.office_id, active=True).first()
    if signer is None:
        raise ApprovalError(
            f"Tài khoản {user.get_username()} không có quyền ký cho {batch.office.name}."
        )
    return signer


def stamp_for(signer: Signer, batch: Batch) -> StampText:
    """The visible stamp of ``signer``'s signatures on ``batch``'s documents.

    The layout the batch's procedure requires (a certified copy of a paper
    original gets ``certified_copy``); when it requires none, the Decree 30/2020
    personal layout if the signer has a signature image, else the text stamp.
    Each with a QR code to the public verification page (an address without
    personal data), in the place the procedure configures, else the layout's own.
    """
    return stamp_text(
        signer_name=signer.display_name,
        office=batch.office,
        procedure=batch.procedure,
        signature_image=Path(signer.signature_image) if signer.signature_image else None,
        seal_image=Path(signer.seal_image) if signer.seal_image else None,
    )


def stamp_text(
    *,
    signer_name: str,
    office: Office,
    procedure: Procedure | None,
    signature_image: Path | None = None,
    seal_image: Path | None = None,
) -> StampText:
    """The visible stamp of ``signer_name``'s signatures on ``procedure``'s documents.

    Shared by the officials' batches (:func:`stamp_for`) and the organisation's
    automatic signatures; see :func:`stamp_for` for the layout and the place.
    """
    layout: Layout = "personal" if signature_image is not None else "text"
    if procedure is not None and procedure.stamp_layout:
        layout = _LAYOUTS.get(procedure.stamp_layout, layout)
        if layout == "personal" and signature_image is None:
            raise ApprovalError(
                f"Thủ tục {procedure.code} dùng mẫu chữ ký cá nhân nhưng người ký "
                f"{signer_name} chưa có ảnh chữ ký; hãy bổ sung trong trang quản trị."
            )
    stamp = StampText(
        signer_name=signer_name,
        office_name=office.name,
        font_path=settings.STAMP_FONT,
        layout=layout,
        signature_image=signature_image,
        seal_image=seal_image,
        verify_url=f"{settings.PUBLIC_BASE_URL}{VERIFY_PATH}",
    )
    placement = procedure_placement(procedure, placement_for(stamp))
    return stamp if placement is None else dataclasses.replace(stamp, placement=placement)


_LAYOUTS: dict[str, Layout] = {
    "text": "text",
    "personal": "personal",
    "certified_copy": "certified_copy",
}


def sign_options_for(batch: Batch, stamp: StampText) -> SignOptions:
    """The signing options of ``batch``: its office's PAdES level, TSA and trust roots.

    A level the office requires is never lowered: a missing timestamp authority
    or trust root refuses the run instead of signing with less.
    """
    return office_sign_options(batch.office, stamp)


def office_sign_options(office: Office, stamp: StampText) -> SignOptions:
    """The signing options of ``office``'s signatures, as :func:`sign_options_for` says."""
    policy = OfficeSigningPolicy.for_office(office.pk)
    level = policy.level
    if level not in _LEVEL_NAMES:
        raise ApprovalError(f"Mức chữ ký “{level}” của {office.name} không hợp lệ.")
    pades = _LEVEL_NAMES[level]
    if pades == "B-B":
        return SignOptions(stamp=stamp)
    if not policy.tsa_url:
        raise ApprovalError(
            f"{office.name} ký ở mức {pades} nhưng chưa cấu hình máy chủ cấp dấu thời gian."
        )
    context = None
    if level_at_least(pades, "B-LT"):
        roots = load_trust_roots(
            sorted(
                p
                for p in Path(settings.TRUST_DIR).glob("*")
                if p.suffix.lower() in (".pem", ".crt", ".cer", ".der")
            )
        )
        if not roots:
            raise ApprovalError(
                f"{office.name} ký ở mức {pades} nhưng chưa có chứng thư gốc tin cậy "
                "trong thư mục trust."
            )
        context = revocation_context(roots)
    return SignOptions(
        stamp=stamp, level=pades, timestamper=policy.tsa_url, validation_context=context
    )


_LEVEL_NAMES: dict[str, Literal["B-B", "B-T", "B-LT", "B-LTA"]] = {
    "B-B": "B-B",
    "B-T": "B-T",
    "B-LT": "B-LT",
    "B-LTA": "B-LTA",
}


def check_key(signer: Signer, key: Any) -> None:
    """Refuse (ApprovalError) a key whose certificate is not the official's or may not sign.

    The certificate must match the signer's registered SHA-256 fingerprint when
    there is one, else carry the signer's display name as its common name.
    """
    try:
        check_certificate(
            getattr(key, "signing_cert", None),
            fingerprint=signer.cert_sha256,
            name=signer.display_name,
        )
    except SigningError as exc:
        raise ApprovalError(f"{exc.message_vi} ({signer.display_name}); không ký.") from None


def check_certificate(cert: Any, *, fingerprint: str, name: str) -> None:
    """Raise SigningError unless ``cert`` may sign now and is the one registered for its holder.

    The holder (an official, an office) registers a SHA-256 ``fingerprint``, or
    else the certificate's common name must be ``name``; see
    :func:`signing.keys.check_belongs_to`.
    """
    if cert is None:
        raise SigningError("Khóa ký không kèm chứng thư số")
    check_signing_certificate(cert)
    check_belongs_to(
        cert,
        expected_fingerprint_sha256=fingerprint or None,
        expected_subject_cn=None if fingerprint else name,
    )


class UnlockedKey:
    """An official's key opened with their passphrase or PIN; close it when signing is over.

    ``signer`` is the pyHanko signer. A key on a PKCS#11 token keeps its session
    open until :meth:`close` and signs in this process only (``processes`` is 1).
    """

    def __init__(self, signer: Any, session: TokenSession | None = None) -> None:
        self.signer = signer
        self.session = session

    @property
    def processes(self) -> int | None:
        """Signing processes for this key: 1 for a token, None (one per CPU) for a file."""
        return 1 if self.session is not None else None

    def close(self) -> None:
        """Close the token session, if any; safe to call twice."""
        if self.session is not None:
            self.session.close()

    def __enter__(self) -> UnlockedKey:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def unlock_key(signer: Signer, secret: bytes) -> UnlockedKey:
    """Open ``signer``'s key with ``secret`` (PKCS#12 passphrase or token PIN) and check it.

    The secret goes to the key file's decryption or the token's login in this
    process and nowhere else. Raises SigningError when the key does not open and
    ApprovalError when its certificate is not the official's (see :func:`check_key`).
    """
    if signer.on_token:
        session = open_token(signer.token_config(), secret)
        unlocked = UnlockedKey(session.signer, session)
    else:
        unlocked = UnlockedKey(load_pkcs12_signer(Path(signer.pkcs12_path), secret))
    try:
        check_key(signer, unlocked.signer)
    except BaseException:
        unlocked.close()
        raise
    return unlocked


# --- decisions -------------------------------------------------------------------------------


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
        _finish_if_settled(batch.pk)


def _finish_if_settled(batch_id: int) -> None:
    """Mark the batch done when no item waits for a decision or a signature."""
    waiting = BatchItem.objects.filter(batch=batch_id).filter(
        Q(decision=BatchItem.Decision.PENDING)
        | Q(decision=BatchItem.Decision.APPROVED, signed_at__isnull=True)
    )
    if not waiting.exists():
        Batch.objects.filter(pk=batch_id).exclude(state=Batch.State.DONE).update(
            state=Batch.State.DONE, closed_at=timezone.now()
        )


# --- signing ---------------------------------------------------------------------------------


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
        _finish_if_settled(batch.pk)
        return results
    except SigningError as exc:
        Batch.objects.filter(pk=batch.pk).update(last_error=exc.message_vi)
        raise ApprovalError(exc.message_vi) from exc
    except ApprovalError as exc:
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
    except ApprovalError as exc:
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


def _signing_output(item: BatchItem) -> Path:
    """Where the engine writes an item's signed PDF before it enters the store."""
    return Path(settings.WORK_DIR) / "signing" / f"{item.batch_id}-{item.document_id}.pdf"


def _prepare_item(
    item: BatchItem, user: User, refused: list[str], stamp: StampText
) -> SignJob | str:
    """The signing job for an item whose approval allows it, or the outcome that ends it.

    Where the procedure's configured stamp place does not fit the document, an event
    says how it was adjusted (see :func:`signing.placement.note_adjustments`).
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
    note_adjustments(document, stamp, data, user.get_username())
    output = _signing_output(item)
    output.parent.mkdir(parents=True, exist_ok=True)
    return SignJob(source=data, output=output)


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
    return "signed"
