"""Batch signing: many PDFs with one loaded key, per-batch costs paid once, forked workers."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from pyhanko.sign.signers import Signer, SimpleSigner

from signing.engine.jobs import (
    BatchResult,
    JobRunner,
    OutcomeDelivery,
    ProgressCallback,
    SignJob,
    SkipPredicate,
)
from signing.engine.signer import BatchSigner
from signing.engine.workers import run_forked
from signing.errors import SigningError
from signing.pades.options import SignOptions

__all__ = [
    "default_jobs",
    "sign_batch",
]

logger = logging.getLogger(__name__)


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
    batch_signer = BatchSigner(signer) if in_memory else signer
    runner = JobRunner(work, batch_signer, options, skip_existing)
    delivery = OutcomeDelivery(work, progress)
    if count == 1 or len(work) <= 1 or not in_memory:
        for index in range(len(work)):
            delivery.add(index, runner.run(index))
        used = 1
    else:
        used = run_forked(runner, delivery, min(count, len(work)))
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


def _normalise(jobs: Iterable[SignJob | tuple[Path | bytes, Path]]) -> list[SignJob]:
    work = [job if isinstance(job, SignJob) else SignJob(job[0], job[1]) for job in jobs]
    seen: set[Path] = set()
    for job in work:
        out = _resolved(job.output)
        if out in seen:
            raise SigningError(
                f"Hai tài liệu cùng được ghi ra một tệp: {job.output.name}",
                disposition="quarantine",
            )
        seen.add(out)
        if isinstance(job.source, Path) and _resolved(job.source) == out:
            raise SigningError(
                f"Tệp đã ký không được ghi đè lên tệp gốc: {job.output.name}",
                disposition="quarantine",
            )
    return work


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:  # pragma: no cover - unreadable parents
        return path.absolute()
