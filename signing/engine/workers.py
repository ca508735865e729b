"""Forked signing workers: they inherit the loaded key, sign jobs by index, report outcomes."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import gc
import logging
import os
import signal
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe, wait

from signing.engine.jobs import JobOutcome, JobRunner, OutcomeDelivery

__all__ = [
    "run_forked",
]

logger = logging.getLogger(__name__)


_PREFETCH = 2
"""Job indices handed to a worker ahead, so it never waits for the parent between documents."""


class _WorkerStopped(BaseException):
    """Raised in a worker by SIGTERM so that a document being written is cleaned up."""


@dataclass
class _Worker:
    pid: int
    conn: Connection
    inflight: collections.deque[int] = dataclasses.field(default_factory=collections.deque)
    current: int | None = None
    """The job the worker said it started last (its document, if it dies now)."""


def run_forked(runner: JobRunner, delivery: OutcomeDelivery, count: int) -> int:
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


def _spawn(runner: JobRunner, workers: dict[Connection, _Worker]) -> _Worker:
    parent_end, child_end = Pipe(duplex=True)
    # Objects that exist now are left out of the worker's garbage collections:
    # otherwise its first collection writes to every inherited object and the
    # kernel copies most of the parent's memory, page by page, into the worker.
    # The worker freezes them first thing; the collector is held off until then.
    # The caller's own collector is left as it was (``motcua sign`` froze what it
    # imported; a long-lived process froze nothing, or what it chose).
    collecting = gc.isenabled()
    gc.disable()
    pid = -1
    try:
        with warnings.catch_warnings():
            # Python 3.12 warns about fork() in a process with threads. The child
            # only signs with what it inherited and leaves through os._exit, never
            # returning into the caller's code, so the warning does not apply.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    finally:
        if pid == 0:
            gc.freeze()
        if collecting:
            gc.enable()
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


def _worker_main(runner: JobRunner, conn: Connection) -> None:
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
    delivery: OutcomeDelivery,
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
