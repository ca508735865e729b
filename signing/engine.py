"""Batch signing: many PDFs with one loaded key, per-batch costs paid once, forked workers."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import gc
import hashlib
import io
import logging
import os
import re
import signal
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe, wait
from pathlib import Path
from typing import Any, Literal, TypeVar

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.attributes import CMSAttributeProvider, SigningCertificateV2Provider
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import SignatureCoverageLevel
from pyhanko.sign.validation.generic_cms import validate_sig_integrity

from signing.errors import Disposition, SigningError
from signing.pades import SignOptions, sign_pdf, write_atomic
from signing.timestamps import SIGNED_DOCUMENT_POLICY

__all__ = [
    "BatchResult",
    "JobOutcome",
    "OutcomeStatus",
    "ProgressCallback",
    "SignJob",
    "default_jobs",
    "is_signed_output",
    "sign_batch",
]

logger = logging.getLogger(__name__)

OutcomeStatus = Literal["signed", "skipped", "failed"]

_T = TypeVar("_T")

_PREFETCH = 2
"""Job indices handed to a worker ahead, so it never waits for the parent between documents."""


@dataclass(frozen=True)
class SignJob:
    source: Path | bytes
    """The PDF to sign: a file to read, or the document's bytes."""

    output: Path
    """Where the signed PDF is written, through a temporary name and a rename."""

    @property
    def path(self) -> Path:
        """The path that names this job: the source file, or the output for bytes."""
        return self.source if isinstance(self.source, Path) else self.output


@dataclass(frozen=True)
class JobOutcome:
    status: OutcomeStatus
    """``signed`` now, ``skipped`` (the output was already there and valid), or ``failed``."""

    sha256: str = ""
    """SHA-256 hex of the output file (signed or skipped); empty when failed."""

    message_vi: str = ""
    """Why the document failed, in Vietnamese; empty otherwise."""

    disposition: Disposition | None = None
    """What to do with a failed document (retry, quarantine, fail); None otherwise."""

    @property
    def ok(self) -> bool:
        """True when the output holds a valid signed document (signed now or before)."""
        return self.status != "failed"


@dataclass(frozen=True)
class BatchResult:
    outcomes: tuple[JobOutcome, ...]
    """One outcome per job, in the order the jobs were given."""

    seconds: float
    """Wall time of the whole batch."""

    processes: int
    """Number of processes that signed (1 means in-process)."""

    def count(self, status: OutcomeStatus) -> int:
        """Return how many jobs ended with ``status``."""
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def ok(self) -> bool:
        """True when no job failed."""
        return all(outcome.ok for outcome in self.outcomes)


ProgressCallback = Callable[[int, int, Path, JobOutcome], None]
"""Called in the calling process as ``(done, total, job.path, outcome)``, in job order."""

SkipPredicate = Callable[[SignJob], bool]
"""Returns True when a job's output is already good; runs in the worker process."""


def default_jobs() -> int:
    """Return the number of CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def sign_batch(
    signer: Signer,
    jobs: Iterable[SignJob | tuple[Path | bytes, Path]],
    options: SignOptions | None = None,
    *,
    processes: int | None = None,
    progress: ProgressCallback | None = None,
    skip_existing: bool | SkipPredicate = True,
) -> BatchResult:
    """Sign every job with ``signer`` and ``options``; return one outcome per job, in order.

    One bad document does not stop the batch: its outcome says why in Vietnamese.
    With ``skip_existing`` true, a job whose output already holds this very input
    signed by this signer (see :func:`is_signed_output`) is skipped, so a batch can
    be run again after an interruption without signing anything twice; a callable
    decides instead. ``processes`` defaults to the CPU count; 1 signs in this
    process, more forks workers after the key is loaded (they inherit it in
    memory; neither key nor passphrase ever crosses a pipe). Only a key held in
    memory (a pyHanko SimpleSigner, as from a PKCS#12 file) is used from forked
    workers; any other signer (a PKCS#11 token, whose session does not survive a
    fork) signs in this process. ``progress`` is called in this process after
    each job, in job order.

    Raises :class:`SigningError` before signing anything when two jobs share an
    output or a job would overwrite its own input.
    """
    started = time.perf_counter()
    options = options or SignOptions()
    work = _normalise(jobs)
    count = processes if processes is not None else default_jobs()
    if count < 1:
        raise ValueError("processes must be at least 1")
    in_memory = isinstance(signer, SimpleSigner)
    batch_signer = _BatchSigner(signer) if in_memory else signer
    runner = _Runner(work, batch_signer, options, skip_existing)
    delivery = _Delivery(work, progress)
    if count == 1 or len(work) <= 1 or not in_memory:
        for index in range(len(work)):
            delivery.add(index, runner.run(index))
        used = 1
    else:
        used = _run_forked(runner, delivery, min(count, len(work)))
    result = BatchResult(
        outcomes=delivery.outcomes(), seconds=time.perf_counter() - started, processes=used
    )
    logger.info(
        "signing batch: %d signed, %d skipped, %d failed in %.2f s with %d process(es)",
        result.count("signed"),
        result.count("skipped"),
        result.count("failed"),
        result.seconds,
        used,
    )
    return result


def is_signed_output(output: bytes, source: bytes, signer: Signer, field_name: str) -> bool:
    """Tell whether ``output`` is ``source`` signed by ``signer`` in ``field_name``, intact.

    The output must start with the source's bytes (our signatures are incremental
    updates) and carry, in ``field_name``, a cryptographically correct signature
    made with the signer's certificate that covers the whole file, or its whole
    revision when only validation data and timestamps were added after it (B-LT,
    B-LTA). Trust is not checked: the certificate is the signer's own. The usual
    case (the signature covers the whole file) is checked from the appended bytes
    alone; anything else goes through pyHanko's reader and difference analysis.
    """
    cert = signer.signing_cert
    if cert is None or len(output) <= len(source) or not output.startswith(source):
        return False
    try:
        quick = _quick_signed_check(output, len(source), cert, field_name)
        if quick is not None:
            return quick
        return _thorough_signed_check(output, cert, field_name)
    except Exception:  # any parser failure means "not a signed output we recognise"
        logger.debug("existing output is not a recognised signed document", exc_info=True)
        return False


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _quick_signed_check(
    output: bytes, start: int, cert: asn1_x509.Certificate, field_name: str
) -> bool | None:
    """Decide from the bytes appended to the source when they are one signature revision.

    Returns None when the layout is not that simple, for the thorough check to decide.
    """
    found = list(_BYTE_RANGE.finditer(output, start))
    if len(found) != 1:
        return None
    hole_start, hole_end, tail_len = (int(value) for value in found[0].groups())
    if not (
        start <= hole_start < hole_end
        and hole_end + tail_len == len(output)
        and output[hole_start] == ord("<")
        and output[hole_end - 1] == ord(">")
    ):
        return None
    name = io.BytesIO()
    generic.pdf_string(field_name).write_to_stream(name)
    if b"/T " + name.getvalue() not in output[start:]:
        return None
    contents = bytes.fromhex(output[hole_start + 1 : hole_end - 1].decode("ascii"))
    signed_data = cms.ContentInfo.load(contents)["content"]
    (signer_info,) = signed_data["signer_infos"]
    sid = signer_info["sid"]
    if sid.name != "issuer_and_serial_number":
        return None
    if (
        sid.chosen["issuer"].dump() != cert.issuer.dump()
        or sid.chosen["serial_number"].native != cert.serial_number
    ):
        return False
    digest = hashlib.new(signer_info["digest_algorithm"]["algorithm"].native)
    view = memoryview(output)
    digest.update(view[:hole_start])
    digest.update(view[hole_end:])
    intact, valid = validate_sig_integrity(signer_info, cert, "data", digest.digest())
    return bool(intact and valid)


def _thorough_signed_check(output: bytes, cert: asn1_x509.Certificate, field_name: str) -> bool:
    reader = PdfFileReader(io.BytesIO(output), strict=False)
    for signature in reader.embedded_regular_signatures:
        if signature.field_name != field_name:
            continue
        if signature.signer_cert.dump() != cert.dump():
            return False
        signature.compute_integrity_info(diff_policy=SIGNED_DOCUMENT_POLICY)
        coverage = signature.coverage
        if coverage == SignatureCoverageLevel.ENTIRE_REVISION:
            level = getattr(signature.diff_result, "modification_level", None)
            if level is None or level > ModificationLevel.LTA_UPDATES:
                return False
        elif coverage != SignatureCoverageLevel.ENTIRE_FILE:
            return False
        intact, valid = validate_sig_integrity(
            signature.signer_info, signature.signer_cert, "data", signature.compute_digest()
        )
        return bool(intact and valid)
    return False


def _normalise(jobs: Iterable[SignJob | tuple[Path | bytes, Path]]) -> list[SignJob]:
    work = [job if isinstance(job, SignJob) else SignJob(job[0], job[1]) for job in jobs]
    seen: set[Path] = set()
    for job in work:
        out = _resolved(job.output)
        if out in seen:
            raise SigningError(f"Hai tài liệu cùng được ghi ra một tệp: {job.output.name}")
        seen.add(out)
        if isinstance(job.source, Path) and _resolved(job.source) == out:
            raise SigningError(f"Tệp đã ký không được ghi đè lên tệp gốc: {job.output.name}")
    return work


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:  # pragma: no cover - unreadable parents
        return path.absolute()


class _Runner:
    """Does one job by index; the same object serves in-process and in forked workers."""

    def __init__(
        self,
        jobs: list[SignJob],
        signer: Signer,
        options: SignOptions,
        skip_existing: bool | SkipPredicate,
    ) -> None:
        self.jobs = jobs
        self.signer = signer
        self.options = options
        self.skip_existing = skip_existing

    def run(self, index: int) -> JobOutcome:
        """Sign job ``index`` and write its output; never raises."""
        return self.finish(self.sign(index))

    def sign(self, index: int) -> JobOutcome | _Signed:
        """Sign job ``index`` in memory: its outcome when there is nothing to write."""
        return self._guarded(lambda: self._sign(self.jobs[index]))

    def finish(self, step: JobOutcome | _Signed) -> JobOutcome:
        """Write a signed document to its output (temporary name, fsync, rename)."""
        if isinstance(step, JobOutcome):
            return step
        return self._guarded(lambda: step.write())

    def _guarded(self, work: Callable[[], _T]) -> _T | JobOutcome:
        try:
            return work()
        except SigningError as exc:
            return JobOutcome("failed", message_vi=exc.message_vi, disposition=exc.disposition)
        except Exception:
            logger.exception("unexpected error while signing a batch document")
            return JobOutcome(
                "failed", message_vi="Lỗi không mong đợi khi ký tài liệu", disposition="fail"
            )

    def _sign(self, job: SignJob) -> JobOutcome | _Signed:
        if callable(self.skip_existing):
            if self.skip_existing(job):
                return JobOutcome("skipped", sha256=_file_sha256(job.output))
            data = _read_source(job)
        else:
            data = _read_source(job)
            if self.skip_existing:
                existing = _read_existing(job.output)
                if existing is not None and is_signed_output(
                    existing, data, self.signer, self.options.field_name
                ):
                    return JobOutcome("skipped", sha256=hashlib.sha256(existing).hexdigest())
        return _Signed(job.output, sign_pdf(data, self.signer, self.options))


@dataclass(frozen=True)
class _Signed:
    """A document signed in memory, not yet written."""

    output: Path
    data: bytes

    def write(self) -> JobOutcome:
        write_atomic(self.output, self.data)
        return JobOutcome("signed", sha256=hashlib.sha256(self.data).hexdigest())


def _read_source(job: SignJob) -> bytes:
    if isinstance(job.source, bytes):
        return job.source
    try:
        return job.source.read_bytes()
    except OSError as exc:
        raise SigningError(
            f"Không đọc được tệp cần ký: {job.source.name}", disposition="retry"
        ) from exc


def _read_existing(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


class _Delivery:
    """Collects outcomes as they come and reports them to ``progress`` in job order."""

    def __init__(self, jobs: list[SignJob], progress: ProgressCallback | None) -> None:
        self._jobs = jobs
        self._progress = progress
        self._outcomes: dict[int, JobOutcome] = {}
        self._next = 0

    def add(self, index: int, outcome: JobOutcome) -> None:
        self._outcomes[index] = outcome
        total = len(self._jobs)
        while self._next in self._outcomes:
            done = self._next + 1
            if self._progress is not None:
                self._progress(done, total, self._jobs[self._next].path, self._outcomes[self._next])
            self._next = done

    def outcomes(self) -> tuple[JobOutcome, ...]:
        return tuple(self._outcomes[index] for index in range(len(self._jobs)))


# --- forked workers ---------------------------------------------------------------


class _WorkerStopped(BaseException):
    """Raised in a worker by SIGTERM so that a document being written is cleaned up."""


@dataclass
class _Worker:
    pid: int
    conn: Connection
    inflight: collections.deque[int] = dataclasses.field(default_factory=collections.deque)
    current: int | None = None
    """The job the worker said it started last (its document, if it dies now)."""


def _run_forked(runner: _Runner, delivery: _Delivery, count: int) -> int:
    """Sign the first job here (warming every cache), the rest in ``count`` forked workers."""
    total = len(runner.jobs)
    delivery.add(0, runner.run(0))
    pending = collections.deque(range(1, total))
    workers: dict[Connection, _Worker] = {}
    received = 1
    try:
        for _ in range(min(count, len(pending))):
            _spawn(runner, workers)
        for worker in list(workers.values()):
            _feed(worker, pending)
        while received < total:
            if not workers:  # defensive: work is left but no worker is alive
                _feed(_spawn(runner, workers), pending)
                continue
            for ready in wait(list(workers)):
                conn = ready if isinstance(ready, Connection) else None
                if conn is None:  # pragma: no cover - wait() only returns our connections
                    continue
                worker = workers[conn]
                try:
                    index, outcome = conn.recv()
                    if outcome is None:  # the worker started this job
                        worker.current = index
                        continue
                except (EOFError, OSError):
                    received += _bury(worker, workers, pending, delivery)
                    if pending:
                        new = _spawn(runner, workers)
                        _feed(new, pending)
                    continue
                worker.inflight.remove(index)
                delivery.add(index, outcome)
                received += 1
                _feed(worker, pending)
    finally:
        _stop_all(workers)
    return count


def _spawn(runner: _Runner, workers: dict[Connection, _Worker]) -> _Worker:
    parent_end, child_end = Pipe(duplex=True)
    # Objects that exist now are left out of the worker's garbage collections:
    # otherwise its first collection writes to every inherited object and the
    # kernel copies most of the parent's memory, page by page, into the worker.
    gc.freeze()
    pid = -1
    try:
        with warnings.catch_warnings():
            # Python 3.12 warns about fork() in a process with threads. The child
            # only signs with what it inherited and leaves through os._exit, never
            # returning into the caller's code, so the warning does not apply.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    finally:
        if pid != 0:  # the caller's process (the worker keeps its frozen objects)
            gc.unfreeze()
    if pid == 0:  # the worker
        code = 1
        try:
            parent_end.close()
            for other in workers:
                other.close()
            _worker_main(runner, child_end)
            code = 0
        finally:
            os._exit(code)
    child_end.close()
    worker = _Worker(pid=pid, conn=parent_end)
    workers[parent_end] = worker
    return worker


def _worker_main(runner: _Runner, conn: Connection) -> None:
    """Sign the jobs the parent sends; write each output while the next is being signed.

    The worker says when it starts a job (``(index, None)``) and sends the outcome
    once the output is on disk, so the parent always knows which document a dead
    worker was on and never hears "signed" before the file is complete.
    """
    # the parent decides what happens on Ctrl-C; SIGTERM stops the worker cleanly
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_stopped)
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="motcua-ghi-tep-ky")
    writing: tuple[int, Future[JobOutcome]] | None = None
    try:
        while True:
            if writing is not None and not conn.poll():
                _report(conn, writing)  # nothing else to do meanwhile: finish the write
                writing = None
            try:
                index = conn.recv()
            except EOFError:
                return
            if index is None:
                return
            conn.send((index, None))
            step = runner.sign(index)
            if writing is not None:
                _report(conn, writing)
            writing = (index, writer.submit(runner.finish, step))
    except _WorkerStopped:
        return
    finally:
        writer.shutdown(wait=True)  # a file being written is completed or cleaned up


def _report(conn: Connection, writing: tuple[int, Future[JobOutcome]]) -> None:
    """Wait for a write and send its outcome to the parent."""
    index, future = writing
    conn.send((index, future.result()))


def _raise_stopped(signum: int, frame: object) -> None:
    raise _WorkerStopped()


def _feed(worker: _Worker, pending: collections.deque[int]) -> None:
    while pending and len(worker.inflight) < _PREFETCH:
        index = pending.popleft()
        worker.inflight.append(index)
        try:
            worker.conn.send(index)
        except OSError:  # the worker died; reading its end reports it and requeues
            return


def _bury(
    worker: _Worker,
    workers: dict[Connection, _Worker],
    pending: collections.deque[int],
    delivery: _Delivery,
) -> int:
    """Handle a worker that died: fail the document it was on, requeue the others.

    A requeued job whose output the worker was still writing is signed again, or
    skipped when its output turns out complete.
    """
    del workers[worker.conn]
    worker.conn.close()
    _reap(worker.pid)
    logger.warning("a signing worker process ended unexpectedly")
    if not worker.inflight:
        return 0
    current = worker.inflight[0]
    if worker.current is not None and worker.current in worker.inflight:
        current = worker.current
    worker.inflight.remove(current)
    pending.extendleft(reversed(worker.inflight))
    delivery.add(
        current,
        JobOutcome(
            "failed",
            message_vi="Tiến trình ký dừng bất thường khi ký tài liệu này",
            disposition="retry",
        ),
    )
    return 1


def _stop_all(workers: dict[Connection, _Worker]) -> None:
    for worker in workers.values():
        try:
            if worker.inflight:
                os.kill(worker.pid, signal.SIGTERM)
            else:
                worker.conn.send(None)
        except (OSError, ValueError):
            pass
    for worker in workers.values():
        _reap(worker.pid)
        worker.conn.close()
    workers.clear()


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


# --- costs paid once per batch ------------------------------------------------------


class _BatchSigner(Signer):
    """Wraps a loaded signer to reuse, across a batch, what does not change per document.

    pyHanko rebuilds and re-encodes the signing-certificate-v2 attribute (the
    certificate's hash, issuer and serial) for every signature, works out the
    signature mechanism from the key several times a signature, and makes a
    dry-run signature of every document to size the space it reserves; all of it
    depends only on the signer and the kind of signature. This wrapper keeps the
    encoded attribute, the mechanism and the dry-run container of the first
    document and serves them again. The raw signature itself is always made by
    the wrapped signer.
    """

    def __init__(self, inner: Signer) -> None:
        super().__init__(
            prefer_pss=inner.prefer_pss,
            embed_roots=inner.embed_roots,
            signature_mechanism=inner.signature_mechanism,
            signing_cert=inner.signing_cert,
            cert_registry=inner.cert_registry,
            attribute_certs=inner.attribute_certs,
        )
        self.signed_attr_prov_spec = inner.signed_attr_prov_spec
        self.unsigned_attr_prov_spec = inner.unsigned_attr_prov_spec
        self._inner = inner
        self._dry_runs: dict[tuple[object, ...], Any] = {}
        self._mechanisms: dict[str | None, Any] = {}
        cert = inner.signing_cert
        self._cert_der = b"" if cert is None else cert.dump()
        self._signing_cert_attr = (
            b"" if cert is None else as_signing_certificate_v2(cert).dump(force=True)
        )

    def get_signature_mechanism_for_digest(self, digest_algorithm: str | None) -> Any:
        # worked out from the key on every call by pyHanko, several times a signature
        mechanism = self._mechanisms.get(digest_algorithm)
        if mechanism is None:
            mechanism = self._inner.get_signature_mechanism_for_digest(digest_algorithm)
            self._mechanisms[digest_algorithm] = mechanism
        return mechanism

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        signature: bytes = await self._inner.async_sign_raw(data, digest_algorithm, dry_run)
        return signature

    async def async_sign(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run: bool = False,
        use_pades: bool = False,
        timestamper: Any = None,
        signed_attr_settings: PdfCMSSignedAttributes | None = None,
        is_pdf_sig: bool = True,
        encap_content_info: Any = None,
    ) -> Any:
        def sign(dry: bool) -> Any:
            return super(_BatchSigner, self).async_sign(
                data_digest,
                digest_algorithm,
                dry_run=dry,
                use_pades=use_pades,
                timestamper=timestamper,
                signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig,
                encap_content_info=encap_content_info,
            )

        if not dry_run:
            return await sign(False)
        # what the size of a dry-run container depends on, besides the signer
        revinfo = getattr(signed_attr_settings, "adobe_revinfo_attr", None)
        key = (
            digest_algorithm,
            use_pades,
            is_pdf_sig,
            encap_content_info is not None,
            None if timestamper is None else (type(timestamper), getattr(timestamper, "url", None)),
            None if revinfo is None else len(revinfo.dump()),
            repr(getattr(signed_attr_settings, "cades_signed_attrs", None)),
        )
        cached = self._dry_runs.get(key)
        if cached is None:
            cached = await sign(True)
            cached.dump()  # encoded once; pyHanko only measures its length
            self._dry_runs[key] = cached
        return cached

    def _signed_attr_provider_spec(self, *args: Any, **kwargs: Any) -> Any:
        spec = super()._signed_attr_provider_spec(*args, **kwargs)
        if not self._signing_cert_attr:
            return spec
        return _PreEncodedCertAttr(spec, self._cert_der, self._signing_cert_attr)


class _PreEncodedCertAttr:
    """Signed-attribute providers with the signing-certificate attribute pre-encoded."""

    def __init__(self, inner: Any, cert_der: bytes, attr_der: bytes) -> None:
        self._inner = inner
        self._cert_der = cert_der
        self._attr_der = attr_der

    def signed_attr_providers(
        self, data_digest: bytes, digest_algorithm: str
    ) -> Iterator[CMSAttributeProvider]:
        for provider in self._inner.signed_attr_providers(
            data_digest=data_digest, digest_algorithm=digest_algorithm
        ):
            if (
                type(provider) is SigningCertificateV2Provider
                and provider.signing_cert.dump() == self._cert_der
            ):
                yield _FixedAttribute(provider.attribute_type, self._attr_der)
            else:
                yield provider


class _FixedAttribute(CMSAttributeProvider):
    """An attribute provider returning a value parsed lazily from its DER encoding."""

    def __init__(self, attribute_type: str, der: bytes) -> None:
        self.attribute_type = attribute_type
        self._der = der

    async def build_attr_value(self, dry_run: bool = False) -> Any:
        # parsed lazily, so encoding it again costs nothing
        return tsp.SigningCertificateV2.load(self._der)
