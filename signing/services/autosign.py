"""Automatic signing of digitized papers with the office's organisation key, where policy says."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import secrets
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.services.record import Action
from audit.services.record import record as audit
from core.errors import Disposition, RetryPolicy
from dossiers.files import sha256_file, store_file
from dossiers.models import Document, DocumentState
from dossiers.services.workflow import record_event, transition
from signing.engine.jobs import SignJob
from signing.engine.run import sign_batch
from signing.errors import ApprovalError, SigningError
from signing.keys.certificates import common_name, fingerprint_sha256
from signing.keys.pkcs12 import load_pkcs12_signer, read_passphrase_file
from signing.models import (
    RUN_STALE_AFTER,
    AutoSignature,
    OrganisationKey,
    refuse_officials_key,
)
from signing.services.approval import check_certificate
from signing.services.options import document_stamp, office_sign_options, stamp_text
from signing.services.placement import place_stamp

__all__ = [
    "AutoSignOutcome",
    "give_up",
    "sign_automatically",
    "take_over",
]

log = logging.getLogger(__name__)

AUTOSIGN_RETRIES = RetryPolicy(first_delay_s=60.0, max_delay_s=1800.0)
"""Waits before trying again after a passing failure (timestamp authority down, disk): a
minute, doubled each time up to half an hour, and never given up (the record keeps
being due until signed or handed to a person)."""

_NEEDS_PERSON_RETRY = dt.timedelta(hours=1)
"""Wait before trying again after a failure a person must fix (passphrase file, certificate)."""


AutoSignOutcome = Literal["signed", "failed", "busy", "skipped"]
"""What :func:`sign_automatically` did with a document."""


# --- the organisation key ------------------------------------------------------------------------


def _open_key(key: OrganisationKey) -> Any:
    """Open and check the organisation key: validity, key usage, and that it is the office's."""
    passphrase = read_passphrase_file(
        Path(key.passphrase_file), service_only=True, label="khóa tổ chức"
    )
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


def _refused(message_vi: str) -> SigningError:
    """The document cannot be signed as it is (it changed): set aside for a person."""
    return SigningError(message_vi, disposition="quarantine")


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
    except SigningError as exc:  # ApprovalError (fail) and a changed file (quarantine) too
        _record_failure(record, document, exc.message_vi, exc.disposition)
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
    stamp = document_stamp(
        stamp_text(signer_name=subject, office=dossier.office, procedure=dossier.procedure),
        document,
    )
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
        raise _refused(f"Tệp của hồ sơ {dossier.code} đã thay đổi sau khi phê duyệt; không ký.")
    options = dataclasses.replace(options, placed=place_stamp(document, stamp, data, actor))
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
        audit(
            Action.SIGNED,
            username=actor,
            office=document.dossier.office_id,
            obj=document,
            sha256=signed_sha256,
            detail={"automatic": True, "approved_sha256": record.approved_sha256},
        )
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
        raise _refused(
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
            return
        audit(
            Action.APPROVED,
            username=actor,
            office=document.dossier.office_id,
            obj=document,
            sha256=digest,
            detail={"automatic": True, "certificate_sha256": cert_sha256},
        )


def _record_failure(
    record: AutoSignature, document: Document, message_vi: str, disposition: Disposition
) -> None:
    """Keep the reason on the document and its record; say when to try again."""
    now = timezone.now()
    if disposition == "retry":
        wait = dt.timedelta(seconds=AUTOSIGN_RETRIES.countdown(max(0, record.attempts - 1)))
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


def take_over(document_id: int) -> None:
    """Free the attempt of a worker that died holding the record's lease (its lease, taken
    over by the caller, proves no live attempt runs), so signing resumes without waiting."""
    AutoSignature.objects.filter(document=document_id, signed_at__isnull=True).update(
        running_since=None
    )


def give_up(document_id: int, message_vi: str) -> None:
    """Stop trying a document whose signing kills its worker each time; a person decides."""
    record = AutoSignature.objects.filter(document=document_id).first()
    document = Document.objects.select_related("dossier").filter(pk=document_id).first()
    if record is None or document is None or record.signed_at is not None:
        return
    log.error("document %s: automatic signing given up: %s", document_id, message_vi)
    _record_failure(record, document, message_vi, "quarantine")
