"""Jobs of a signing batch: what to sign, each outcome, signing one job, reporting in order."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pyhanko.sign.signers import Signer

from core.errors import Disposition
from signing.errors import SigningError
from signing.pades.options import SignOptions
from signing.pades.resume import is_signed_output
from signing.pades.sign import sign_pdf, write_signed
from signing.stamp.place import Placed
from signing.stamp.text import StampText

__all__ = [
    "BatchResult",
    "JobOutcome",
    "JobRunner",
    "OutcomeDelivery",
    "OutcomeStatus",
    "ProgressCallback",
    "SignJob",
    "SkipPredicate",
]

logger = logging.getLogger(__name__)


OutcomeStatus = Literal["signed", "skipped", "failed"]


_T = TypeVar("_T")


@dataclass(frozen=True)
class SignJob:
    source: Path | bytes
    """The PDF to sign: a file to read, or the document's bytes."""

    output: Path
    """Where the signed PDF is written, through a temporary name and a rename."""

    stamp: StampText | None = None
    """This document's own visible stamp (its QR code leads to its own verification
    page); None signs with the batch options' stamp."""

    placed: Placed | None = None
    """Where this document's stamp goes, already worked out from it
    (:func:`signing.stamp.place.plan_placement`); None: found while signing."""

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


class JobRunner:
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
        options = self.options
        if job.stamp is not None:
            options = dataclasses.replace(options, stamp=job.stamp)
        if job.placed is not None:
            options = dataclasses.replace(options, placed=job.placed)
        return _Signed(job.output, sign_pdf(data, self.signer, options))


@dataclass(frozen=True)
class _Signed:
    """A document signed in memory, not yet written."""

    output: Path
    data: bytes

    def write(self) -> JobOutcome:
        write_signed(self.output, self.data)
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


class OutcomeDelivery:
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
