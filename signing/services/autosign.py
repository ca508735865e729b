"""Automatic signing of digitized papers with the office's organisation key, where policy says."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dossiers.files import sha256_file, store_file
from dossiers.models import Document, DocumentState
from dossiers.services.workflow import record_event, transition
from signing.engine.jobs import SignJob
from signing.engine.run import sign_batch
from signing.errors import Disposition, KeyUnlockError, SigningError
from signing.keys.certificates import common_name, fingerprint_sha256, load_pkcs12_signer
from signing.models import AutoSignature, AutoSignPolicy, OrganisationKey, refuse_officials_key
from signing.services import batches as batching
from signing.services.approval import ApprovalError, check_certificate
from signing.services.options import office_sign_options, stamp_text
from signing.services.placement import note_adjustments

__all__ = [
    "FIRST_TRY_WITHIN",
    "RUN_STALE_AFTER",
    "AutoSignOutcome",
    "due_for_retry",
    "hand_over",
    "on_state_changed",
    "read_service_passphrase",
    "sign_automatically",
]

log = logging.getLogger(__name__)

FIRST_TRY_WITHIN = dt.timedelta(minutes=5)
"""A document planned for automatic signing and not tried by then is put in line again."""

RUN_STALE_AFTER = dt.timedelta(minutes=10)
"""A signing attempt that has not finished by then is taken to be dead (its worker was killed)."""

_RETRY_MINUTES = (1, 2, 5, 15, 30)
"""Waits before trying again after a passing failure (timestamp authority down, disk), then 30."""

_NEEDS_PERSON_RETRY = dt.timedelta(hours=1)
"""Wait before trying again after a failure a person must fix (passphrase file, certificate)."""

PASSPHRASE_MAX_BYTES = 4096
"""Longest passphrase file read; a longer one is refused (it is not a passphrase file)."""

AutoSignOutcome = Literal["signed", "failed", "busy", "skipped"]
"""What :func:`sign_automatically` did with a document."""


# --- the decision: where a digitized document goes ---------------------------------------------


def on_state_changed(sender: object, *, document: Document, new: str, **kwargs: Any) -> None:
    """Send a document that awaits approval to automatic signing, else to the officials' batch.

    Runs inside the transition's transaction. A document goes to automatic
    signing once, when its office's (or procedure's) policy says so and the
    office has an active organisation key; one handed over to the officials,
    or of an office without a usable key, joins the batch as before.
    """
    if new != DocumentState.AWAITING_APPROVAL:
        return
    if not _plan(document):
        batching.on_state_changed(sender, document=document, new=new, **kwargs)


def _plan(document: Document) -> bool:
    """Plan automatic signing of ``document`` after commit; False when officials decide."""
    existing = AutoSignature.objects.filter(document=document).first()
    if existing is not None:
        if existing.handed_over_at is not None:
            return False
        _enqueue_after_commit(document.pk)
        return True
    dossier = document.dossier
    if not AutoSignPolicy.applies(dossier.office_id, dossier.procedure_id):
        return False
    if dossier.procedure.stamp_layout == "personal":
        record_event(
            dossier,
            "auto_sign_unavailable",
            document=document,
            detail={
                "reason": f"Thủ tục {dossier.procedure.code} dùng mẫu chữ ký cá nhân; khóa tổ "
                "chức không ký tự động được; chuyển lãnh đạo ký."
            },
        )
        return False
    key = OrganisationKey.objects.filter(office=dossier.office_id, active=True).first()
    if key is None:
        record_event(
            dossier,
            "auto_sign_unavailable",
            document=document,
            detail={"reason": "Cơ quan chưa có khóa ký của tổ chức đang dùng; chuyển lãnh đạo ký."},
        )
        return False
    AutoSignature.objects.create(
        document=document, organisation_key=key, retry_at=timezone.now() + FIRST_TRY_WITHIN
    )
    record_event(dossier, "auto_sign_planned", document=document)
    _enqueue_after_commit(document.pk)
    return True


def _enqueue_after_commit(document_id: int) -> None:
    from signing.tasks import auto_sign_document

    transaction.on_commit(lambda: auto_sign_document.delay(document_id))


# --- the organisation key ------------------------------------------------------------------------


def read_service_passphrase(path: Path) -> bytes:
    """Return the passphrase in ``path``, a file only this service's account may read.

    The file must be a regular file owned by the user this process runs as,
    with no permission for its group or others (mode 600 or 400); otherwise a
    :class:`KeyUnlockError` says, in Vietnamese, what to fix. The checks are on
    the file actually opened (no window for a swap between check and read). One
    trailing newline is dropped; the content is never logged nor put in a message. The
    file is opened without blocking (a FIFO is refused, not waited on) and a file longer
    than :data:`PASSPHRASE_MAX_BYTES` is refused.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        raise KeyUnlockError(f"Không mở được tệp mật khẩu khóa tổ chức {path}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyUnlockError(f"Tệp mật khẩu khóa tổ chức {path} không phải tệp thường")
        if info.st_uid != os.geteuid():
            raise KeyUnlockError(
                f"Tệp mật khẩu khóa tổ chức {path} không thuộc tài khoản chạy dịch vụ; không dùng"
            )
        if info.st_mode & 0o077:
            raise KeyUnlockError(
                f"Tệp mật khẩu khóa tổ chức {path} có quyền {stat.filemode(info.st_mode)}: nhóm "
                "hoặc người khác truy cập được; hãy đặt quyền 600 (chmod 600) rồi thử lại"
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(PASSPHRASE_MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > PASSPHRASE_MAX_BYTES:
        raise KeyUnlockError(
            f"Tệp mật khẩu khóa tổ chức {path} dài quá {PASSPHRASE_MAX_BYTES} byte; không phải "
            "tệp mật khẩu, không dùng"
        )
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data.removesuffix(b"\n")


def _open_key(key: OrganisationKey) -> Any:
    """Open and check the organisation key: validity, key usage, and that it is the office's."""
    passphrase = read_service_passphrase(Path(key.passphrase_file))
    try:
        signer = load_pkcs12_signer(Path(key.pkcs12_path), passphrase)
    finally:
        del passphrase
    if signer.signing_cert is not None:  # an official's own key is refused first, by name
        reason = refuse_officials_key(
            fingerprint=fingerprint_sha256(signer.signing_cert),
            subject=common_name(signer.signing_cert),
            pkcs12_path=key.pkcs12_path,
        )
        if reason:
            raise ApprovalError(reason)
    check_certificate(signer.signing_cert, fingerprint=key.cert_sha256, name=key.office.name)
    return signer


# --- signing one document ------------------------------------------------------------------------


class _Refused(Exception):
    """The document cannot be signed as it is (it changed); it waits for a person."""


def sign_automatically(document_id: int) -> AutoSignOutcome:
    """Approve and sign one document with its office's organisation key, once.

    The service approves in the officials' way (bound to the file's SHA-256,
    recorded with the organisation certificate as who), then signs those very
    bytes through the batch engine with the office's level and the procedure's
    stamp, validates the output, stores it and moves the document to SIGNED, so
    it is published as an official's signature is. Only one attempt runs at a
    time; running it again after an interruption or on a signed document signs
    nothing twice. A failure leaves the document where it was, with the reason
    on it and on its record, and a time to try again unless a person must act.
    """
    record = AutoSignature.objects.filter(document=document_id).first()
    if record is None or record.signed_at is not None or record.handed_over_at is not None:
        return "skipped"
    claimed_at = _claim(record)
    if claimed_at is None:
        return "busy"
    try:
        record.refresh_from_db()
        return _attempt(record, claimed_at)
    finally:
        _release(record, claimed_at)


def _claim(record: AutoSignature) -> dt.datetime | None:
    """Take the record for one attempt; the time returned is the attempt's claim, else None.

    A claim older than :data:`RUN_STALE_AFTER` is taken over: its worker is taken to
    be dead. The claim's time identifies the attempt: only the attempt still holding
    it may publish its signature or clear it (:func:`_release`).
    """
    now = timezone.now()
    claimed = (
        AutoSignature.objects.filter(
            pk=record.pk, signed_at__isnull=True, handed_over_at__isnull=True
        )
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=now - RUN_STALE_AFTER))
        .update(running_since=now, attempts=F("attempts") + 1)
    )
    return now if claimed else None


def _release(record: AutoSignature, claimed_at: dt.datetime) -> None:
    """Clear the attempt's claim, unless another attempt has taken it over since."""
    AutoSignature.objects.filter(pk=record.pk, running_since=claimed_at).update(running_since=None)


def _attempt(record: AutoSignature, claimed_at: dt.datetime) -> AutoSignOutcome:
    document = Document.objects.select_related("dossier__office", "dossier__procedure").get(
        pk=record.document_id
    )
    if document.state not in (DocumentState.AWAITING_APPROVAL, DocumentState.APPROVED):
        AutoSignature.objects.filter(pk=record.pk).update(retry_at=None)
        return "skipped"
    try:
        if not _sign(record, document, claimed_at):
            return "busy"
    except SigningError as exc:
        _record_failure(record, document, exc.message_vi, exc.disposition)
        return "failed"
    except ApprovalError as exc:
        _record_failure(record, document, exc.message_vi, "fail")
        return "failed"
    except _Refused as exc:
        _record_failure(record, document, str(exc), "quarantine")
        return "failed"
    except Exception:
        log.exception("document %s: automatic signing failed", document.pk)
        _record_failure(
            record, document, "Lỗi không mong đợi khi ký tự động; xem nhật ký máy chủ.", "fail"
        )
        return "failed"
    return "signed"


def _sign(record: AutoSignature, document: Document, claimed_at: dt.datetime) -> bool:
    """Sign and publish the document; False when another attempt took the record over."""
    key = OrganisationKey.objects.select_related("office").get(pk=record.organisation_key_id)
    if not key.active:
        raise ApprovalError("Khóa ký của tổ chức đã ngừng dùng; không ký tự động.")
    signer = _open_key(key)
    cert_sha256, subject = fingerprint_sha256(signer.signing_cert), common_name(signer.signing_cert)
    actor = f"Khóa tổ chức: {subject}"[:150]
    dossier = document.dossier
    stamp = stamp_text(signer_name=subject, office=dossier.office, procedure=dossier.procedure)
    options = office_sign_options(dossier.office, stamp)
    try:
        data = Path(document.pdf_path).read_bytes()
    except OSError as exc:
        raise SigningError(
            "Không đọc được tệp PDF của tài liệu; sẽ thử lại", disposition="retry"
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if document.state == DocumentState.AWAITING_APPROVAL:
        _approve(record, document, digest, cert_sha256, subject, actor)
        record.refresh_from_db()
    if not record.approved_sha256 or digest != record.approved_sha256:
        record_event(
            dossier,
            "sign_refused",
            document=document,
            actor=actor,
            detail={"approved_sha256": record.approved_sha256, "sha256": digest},
        )
        raise _Refused(f"Tệp của hồ sơ {dossier.code} đã thay đổi sau khi phê duyệt; không ký.")
    note_adjustments(document, stamp, data, actor)
    # each attempt its own output: a stale attempt taken over never writes another's file
    output = Path(settings.WORK_DIR) / "signing" / f"auto-{document.pk}-{secrets.token_hex(8)}.pdf"
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _publish(record, document, output, claimed_at, signer, options, data, actor)
    finally:
        output.unlink(missing_ok=True)


def _publish(
    record: AutoSignature,
    document: Document,
    output: Path,
    claimed_at: dt.datetime,
    signer: Any,
    options: Any,
    data: bytes,
    actor: str,
) -> bool:
    """Sign into ``output``; store and record it only if this attempt still holds the claim.

    The database decides: the record is marked signed, by the attempt still holding
    its claim, before the file goes into the store, so an attempt that lost leaves
    nothing there; the store's copy is removed again if the transition is refused.
    """
    cert_sha256, subject = fingerprint_sha256(signer.signing_cert), common_name(signer.signing_cert)
    (outcome,) = sign_batch(
        signer, [SignJob(source=data, output=output)], options, processes=1
    ).outcomes
    if not outcome.ok:
        raise SigningError(outcome.message_vi, disposition=outcome.disposition or "fail")
    store_dir = Path(settings.STORE_DIR)
    signed_sha256 = sha256_file(output)
    stored_before = (store_dir / signed_sha256[:2] / f"{signed_sha256}.pdf").exists()
    with transaction.atomic():
        marked = AutoSignature.objects.filter(
            pk=record.pk,
            signed_at__isnull=True,
            handed_over_at__isnull=True,
            running_since=claimed_at,
        ).update(
            signed_at=timezone.now(),
            signed_sha256=signed_sha256,
            certificate_sha256=cert_sha256,
            certificate_subject=subject,
            retry_at=None,
            last_error="",
        )
        if not marked:
            transaction.set_rollback(True)
            log.warning("document %s: another attempt took automatic signing over", document.pk)
            return False
        try:
            signed_path, _ = store_file(output, store_dir)
        except OSError as exc:
            raise SigningError(
                "Không ghi được tệp đã ký vào kho lưu trữ", disposition="retry"
            ) from exc
        if not transition(
            document.pk,
            DocumentState.APPROVED,
            DocumentState.SIGNED,
            kind="signed",
            actor=actor,
            detail={
                "sha256": signed_sha256,
                "approved_sha256": record.approved_sha256,
                "certificate_sha256": cert_sha256,
                "automatic": True,
            },
            signed_path=str(signed_path),
            signed_sha256=signed_sha256,
            reason="",
        ):
            transaction.set_rollback(True)
            if not stored_before:
                signed_path.unlink(missing_ok=True)
            return False
    return True


def _approve(
    record: AutoSignature,
    document: Document,
    digest: str,
    cert_sha256: str,
    subject: str,
    actor: str,
) -> None:
    """Record the service's approval of exactly the bytes about to be signed."""
    if digest != document.pdf_sha256:
        raise _Refused(
            f"Tệp của hồ sơ {document.dossier.code} không còn là tệp đã số hóa; không ký."
        )
    with transaction.atomic():
        approved = AutoSignature.objects.filter(pk=record.pk, approved_at__isnull=True).update(
            approved_at=timezone.now(),
            approved_sha256=digest,
            certificate_sha256=cert_sha256,
            certificate_subject=subject,
        )
        if not approved or not transition(
            document.pk,
            DocumentState.AWAITING_APPROVAL,
            DocumentState.APPROVED,
            kind="approved",
            actor=actor,
            detail={"sha256": digest, "certificate_sha256": cert_sha256, "automatic": True},
        ):
            transaction.set_rollback(True)


def _record_failure(
    record: AutoSignature, document: Document, message_vi: str, disposition: Disposition
) -> None:
    """Keep the reason on the document and its record; say when to try again."""
    now = timezone.now()
    if disposition == "retry":
        wait = dt.timedelta(minutes=_RETRY_MINUTES[min(record.attempts, len(_RETRY_MINUTES)) - 1])
        retry_at: dt.datetime | None = now + wait
    elif disposition == "fail":
        retry_at = now + _NEEDS_PERSON_RETRY
    else:
        retry_at = None  # the file itself is wrong: only a person can decide
    reason = f"Ký tự động chưa được: {message_vi}"
    with transaction.atomic():
        AutoSignature.objects.filter(pk=record.pk).update(last_error=message_vi, retry_at=retry_at)
        Document.objects.filter(pk=document.pk).update(reason=reason)
        if record.last_error != message_vi:  # one event per new reason, not one per attempt
            record_event(
                document.dossier,
                "auto_sign_failed",
                document=document,
                detail={
                    "reason": message_vi,
                    "disposition": disposition,
                    "retry_at": retry_at.isoformat() if retry_at else None,
                },
            )
    log.warning(
        "document %s: automatic signing failed (%s), retry at %s",
        document.pk,
        disposition,
        retry_at,
    )


# --- what the reconciler and the administrator do ------------------------------------------------


def due_for_retry(
    now: dt.datetime | None = None, *, only: Collection[int] | None = None
) -> list[int]:
    """Ids of documents whose automatic signing is due again; each is given time to run.

    Covers a lost message as well as a planned retry: every unsigned record with a
    time to try that has passed, and no live attempt. ``only`` (record ids) limits
    it to those records, e.g. the ones an administrator selected.
    """
    now = now or timezone.now()
    records = (
        AutoSignature.objects.all() if only is None else AutoSignature.objects.filter(pk__in=only)
    )
    due = (
        records.filter(signed_at__isnull=True, handed_over_at__isnull=True, retry_at__lte=now)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=now - RUN_STALE_AFTER))
        .values_list("pk", "document_id")
    )
    picked = dict(due)
    AutoSignature.objects.filter(pk__in=picked, retry_at__lte=now).update(
        retry_at=now + FIRST_TRY_WITHIN
    )
    return sorted(picked.values())


def hand_over(record: AutoSignature, actor: str) -> bool:
    """Give an unsigned document back to the officials' batch; False when it cannot be.

    For a document the service cannot sign (its key is gone, its file refused):
    it goes back to awaiting approval and joins its office's batch, so an
    official decides. A document being signed right now is not handed over.
    """
    now = timezone.now()
    with transaction.atomic():
        taken = (
            AutoSignature.objects.filter(
                pk=record.pk, signed_at__isnull=True, handed_over_at__isnull=True
            )
            .filter(Q(running_since__isnull=True) | Q(running_since__lt=now - RUN_STALE_AFTER))
            .update(handed_over_at=now, retry_at=None)
        )
        if not taken or not transition(
            record.document_id,
            (DocumentState.AWAITING_APPROVAL, DocumentState.APPROVED),
            DocumentState.AWAITING_APPROVAL,
            kind="auto_sign_handed_over",
            actor=actor,
            reason="",
        ):
            transaction.set_rollback(True)
            return False
    return True
