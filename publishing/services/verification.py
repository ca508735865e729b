"""Public verification: a citizen's upload or a document's QR code, checked in a bounded child.

Each check runs in :func:`signing.verify.sandbox.verify_in_sandbox` (a child process
capped in CPU, memory and wall-clock time), at most ``VERIFY_CONCURRENCY`` at once in
this web process (beyond that the answer is at once "busy"), and at most
``VERIFY_RATE_LIMIT`` per client address in ``VERIFY_RATE_WINDOW_S`` (the address of
:func:`publishing.services.clients.client_address`, counted in the cache with atomic
``add``/``incr``). The verdict (:func:`signing.verify.verdict.verdict_of`) says
"issued" only when the file's SHA-256 is a stored signed result's.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_lazy

from dossiers.models import Document, DocumentState
from publishing.services.clients import client_address
from signing.errors import TrustStoreError
from signing.verify.report import VerifyReport
from signing.verify.sandbox import (
    SandboxLimits,
    VerificationStarved,
    start_spares,
    verify_in_sandbox,
)
from signing.verify.verdict import Verdict, verdict_of

__all__ = [
    "BUSY_VI",
    "Verification",
    "admission",
    "document_for_code",
    "is_signed",
    "start_verifiers",
    "verify_document",
    "verify_upload",
]

log = logging.getLogger(__name__)

BUSY_VI = gettext_lazy(
    "Hệ thống đang kiểm tra nhiều tài liệu cùng lúc. Vui lòng thử lại sau ít phút."
)
"""Why a check was not started: every slot of this web process is taken."""

UNAVAILABLE_VI = gettext_lazy(
    "Hiện chưa kiểm tra được chữ ký. Vui lòng thử lại sau hoặc liên hệ bộ phận một cửa."
)
"""Why a check could not run: a problem of the server (logged), not of the document."""

_SIGNED_STATES = (DocumentState.SIGNED, DocumentState.PUBLISHED, DocumentState.DELIVERED)

_CODE = re.compile(r"[A-Z2-7]{16,32}")
"""What a verification code looks like (base32), checked before any query."""


@dataclass(frozen=True)
class Verification:
    verdict: Verdict
    """What the citizen is told (see :data:`signing.verify.verdict.Verdict`)."""

    report: VerifyReport | None = None
    """The verification report; None when no check ran (busy, limited, unavailable)."""

    reason_vi: str = ""
    """Why the document was refused or the check did not run, in Vietnamese."""

    document: Document | None = None
    """The stored result the file is, when the verdict is ``issued``."""

    status: int = 200
    """The HTTP status of the page: 429 when limited, 503 when busy, else 200."""

    @property
    def issued(self) -> bool:
        """True when the file is, byte for byte, a result this system signed and issued."""
        return self.verdict == "issued"


def start_verifiers(wait_s: float = 0) -> None:
    """Start the spare verification processes (``VERIFY_SPARES``) now, at web server start,
    so that the first citizen does not wait for pyHanko to be imported."""
    try:
        start_spares(int(settings.VERIFY_SPARES), wait_s=wait_s)
    except OSError:  # each verification will try again, and say so
        log.exception("verify: the spare verification processes could not be started")


def document_for_code(code: str) -> Document | None:
    """The document whose stamp's QR code carries ``code`` (any case), or None."""
    code = code.strip().upper()
    if not _CODE.fullmatch(code):
        return None
    return (
        Document.objects.select_related("dossier__office", "dossier__procedure")
        .filter(verify_code=code)
        .first()
    )


def is_signed(document: Document) -> bool:
    """True when ``document`` has a signed file in the store."""
    return bool(document.signed_path) and document.state in _SIGNED_STATES


@contextlib.contextmanager
def admission(request: HttpRequest) -> Iterator[Verification | None]:
    """Admit a check: None while it may run (holding one of the process's slots), or the
    answer to give at once (limited: 429; busy: 503). Nothing of the request is read.

    Each admission counts against the client's allowance (``VERIFY_RATE_LIMIT`` in
    ``VERIFY_RATE_WINDOW_S``); the slots are ``VERIFY_CONCURRENCY`` per web process.
    """
    limited = _limited(request)
    if limited is not None:
        yield limited
        return
    slot = _slot()
    if not slot.acquire(blocking=False):
        yield Verification("busy", reason_vi=str(BUSY_VI), status=503)
        return
    try:
        yield None
    finally:
        slot.release()


def verify_upload(data: bytes) -> Verification:
    """Check an uploaded file (within an :func:`admission`): its signatures, and whether
    this system issued it unchanged."""
    checked = _check(data)
    if isinstance(checked, Verification):
        return checked
    document = None
    if checked.ok:  # only a sound document can be one this system issued
        document = (
            Document.objects.select_related("dossier__office", "dossier__procedure")
            .filter(signed_sha256=hashlib.sha256(data).hexdigest(), state__in=_SIGNED_STATES)
            .order_by("-pk")
            .first()
        )
    return _verification(checked, document)


def verify_document(document: Document) -> Verification:
    """Check the stored signed file of ``document`` (within an :func:`admission`): the
    page its stamp's QR code opens.

    The report of an unchanged file is kept in the cache for ``VERIFY_CACHE_S``; a
    check that ran out of time here means the server was busy, not that our own
    file is hostile.
    """
    try:
        data = Path(document.signed_path).read_bytes()
    except OSError:
        log.warning("verify: document %s: the signed file cannot be read", document.pk)
        return Verification("busy", reason_vi=str(UNAVAILABLE_VI), status=503)
    digest = hashlib.sha256(data).hexdigest()
    key = f"verify-doc:{document.pk}:{digest}"
    cached = cache.get(key)
    if isinstance(cached, dict):
        return _verification(VerifyReport.from_dict(cached), document, digest)
    checked = _check(data)
    if isinstance(checked, Verification):
        return checked
    if checked.problem == "overrun":
        return Verification("busy", reason_vi=str(BUSY_VI), status=503)
    cache.set(key, checked.to_dict(), settings.VERIFY_CACHE_S)
    return _verification(checked, document, digest)


def _verification(
    report: VerifyReport, document: Document | None, digest: str | None = None
) -> Verification:
    """The verdict of ``report`` for a file that is ``document``'s signed result (when
    ``digest``, the file's SHA-256, is that result's, or when given no digest)."""
    issued = document is not None and (digest is None or digest == document.signed_sha256)
    verdict = verdict_of(report, issued=issued)
    return Verification(
        verdict,
        report,
        reason_vi=report.problem_vi if verdict == "refused" else "",
        document=document if verdict == "issued" else None,
    )


def _limited(request: HttpRequest) -> Verification | None:
    """Count this check against the client's allowance; a refusal when it is spent."""
    address = client_address(request)
    key = "verify-rate:" + hashlib.sha256(address.encode()).hexdigest()[:16]
    window = int(settings.VERIFY_RATE_WINDOW_S)
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        count = 1
    if count <= settings.VERIFY_RATE_LIMIT:
        return None
    minutes = max(1, window // 60)
    return Verification(
        "busy",
        reason_vi=gettext("Bạn đã kiểm tra quá nhiều lần. Vui lòng thử lại sau %(minutes)d phút.")
        % {"minutes": minutes},
        status=429,
    )


_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _slot() -> threading.BoundedSemaphore:
    """The semaphore of this process's verification slots (``VERIFY_CONCURRENCY``)."""
    size = max(1, int(settings.VERIFY_CONCURRENCY))
    with _slots_lock:
        slot = _slots.get(size)
        if slot is None:
            slot = _slots[size] = threading.BoundedSemaphore(size)
        return slot


def _check(data: bytes) -> VerifyReport | Verification:
    """The report of ``data`` from a sandboxed child, or the page's answer when none ran."""
    try:
        return verify_in_sandbox(data, _trust_roots(), _limits())
    except VerificationStarved:
        log.warning("verify: the machine is too busy, a verification did not get the CPU")
        return Verification("busy", reason_vi=str(BUSY_VI), status=503)
    except TrustStoreError as exc:
        log.error("verify: trust roots: %s", exc.message_vi)
    except OSError:
        log.exception("verify: the verification process could not be started")
    return Verification("busy", reason_vi=str(UNAVAILABLE_VI), status=503)


def _trust_roots() -> list[Path]:
    return sorted(
        p
        for p in Path(settings.TRUST_DIR).glob("*")
        if p.suffix.lower() in (".pem", ".crt", ".cer", ".der")
    )


def _limits() -> SandboxLimits:
    return SandboxLimits(
        timeout_s=float(settings.VERIFY_TIMEOUT_S),
        cpu_s=int(settings.VERIFY_CPU_S),
        memory_bytes=int(settings.VERIFY_MEMORY_MB) * 1024 * 1024,
        spares=int(settings.VERIFY_SPARES),
    )
