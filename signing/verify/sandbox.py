"""Verification in a child process bounded in CPU, memory, open files and wall-clock time.

The parent (:func:`verify_in_sandbox`) takes a child ``python -m signing.verify.sandbox``
started beforehand with an empty environment (a warm spare, which has already imported
pypdf and pyHanko, so a check does not pay the second and more that costs), writes a
header line and the document to its standard input, and reads one line of JSON back,
killing the child when the wall-clock limit passes. The child (:func:`main`) caps its
CPU time, address space, open files and file writes and lowers its priority before it
reads a byte of the document; it screens the document against the caps
(:mod:`signing.verify.caps`), then verifies it. Each child checks one document and
exits. Nothing but the report leaves the child: its errors go nowhere.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import resource
import select
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from signing.errors import TrustStoreError
from signing.verify.report import VerifyReport

__all__ = [
    "BROKEN_VI",
    "OVERRUN_VI",
    "SandboxLimits",
    "VerificationStarved",
    "main",
    "start_spares",
    "verify_in_sandbox",
]

logger = logging.getLogger(__name__)

OVERRUN_VI = (
    "Từ chối kiểm tra: tài liệu quá phức tạp, việc kiểm tra vượt quá giới hạn thời gian "
    "hoặc bộ nhớ cho phép."
)
"""What the citizen reads when the child ran out of time or memory, or died."""

BROKEN_VI = "Từ chối kiểm tra: tài liệu có cấu trúc bất thường, hệ thống không kiểm tra được."
"""What the citizen reads when the verification itself failed on the document."""


class VerificationStarved(Exception):
    """The wall-clock limit passed while the child hardly ran: the server is busy, the
    document is not to blame."""


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 4.0
    """Wall-clock seconds the parent waits for the report before killing the child."""

    cpu_s: int = 4
    """CPU seconds the child may spend on the document (RLIMIT_CPU)."""

    memory_bytes: int = 768 * 1024 * 1024
    """Address space of the child (RLIMIT_AS); beyond it allocations fail."""

    open_files: int = 32
    """File descriptors the child may hold (RLIMIT_NOFILE)."""

    report_bytes: int = 1024 * 1024
    """The largest report the parent accepts."""

    spares: int = 1
    """Children kept started and waiting, so that a check does not wait for imports."""


_NICE = 5
"""How much lower the child's scheduling priority is than the web server's."""

_STARVED_SHARE = 0.25
"""A child killed by the wall clock after using less than this share of it in CPU time
was starved by a busy machine rather than kept busy by its document."""

_HEADER_BYTES = 64 * 1024

_READY = b"ready\n"
"""What a child prints once its imports are done, before it waits for the header."""


def verify_in_sandbox(
    data: bytes, trust_roots: Sequence[Path], limits: SandboxLimits | None = None
) -> VerifyReport:
    """Verify ``data`` as :func:`signing.verify.check.verify_pdf` does, in a bounded child.

    The wall-clock limit counts from when the child, its imports done, takes the
    document. A child that runs out of time, CPU or memory, or dies, gives a report
    with the problem ``overrun``; one whose verification failed unexpectedly, a
    report refused as broken. Raises :class:`VerificationStarved` when the child was
    not ready in time or hardly had the CPU before its time ran out (a busy machine),
    :class:`TrustStoreError` when a trust root cannot be read (as ``verify_pdf``
    does) and OSError when no child can be started.
    """
    limits = limits or SandboxLimits()
    header = {**asdict(limits), "trust": [str(p) for p in trust_roots]}
    child = _SPARES.take()
    process = child.process
    try:
        if not child.wait_ready(limits.timeout_s):
            raise VerificationStarved()
        started = _cpu_seconds(process.pid)
        try:
            out, _ = process.communicate(
                json.dumps(header).encode() + b"\n" + data, timeout=limits.timeout_s
            )
        except subprocess.TimeoutExpired:
            used = _cpu_seconds(process.pid)
            if _starved(started, used, limits.timeout_s):
                raise VerificationStarved() from None
            return VerifyReport((), OVERRUN_VI, problem="overrun")
    finally:
        if process.poll() is None:  # past its time, or an error of our own: never left behind
            process.kill()
            process.communicate()
        _refill(limits.spares)
    if process.returncode != 0 or len(out) > limits.report_bytes:
        return VerifyReport((), OVERRUN_VI, problem="overrun")
    return _report(out)


def _refill(spares: int) -> None:
    """Start the next spares once a check is done (not while it runs, to leave it the CPU)."""
    try:
        _SPARES.fill(spares)
    except OSError:  # the next check starts its own child, or says why it cannot
        logger.warning("verify sandbox: no spare process could be started")


def start_spares(count: int, *, wait_s: float = 0) -> None:
    """Have ``count`` children started and waiting (at web server start, say), and wait
    up to ``wait_s`` seconds for them to be ready."""
    for child in _SPARES.fill(count):
        child.wait_ready(wait_s)


def _report(out: bytes) -> VerifyReport:
    try:
        answer = json.loads(out)
        failure = answer.get("failure")
        if failure == "trust":
            raise TrustStoreError(str(answer.get("message", "")))
        if failure == "overrun":
            return VerifyReport((), OVERRUN_VI, problem="overrun")
        if failure is not None:
            return VerifyReport((), BROKEN_VI, problem="refused")
        return VerifyReport.from_dict(answer["report"])
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("verify sandbox: the child's answer could not be read")
        return VerifyReport((), BROKEN_VI, problem="refused")


def _starved(started: float | None, used: float | None, timeout_s: float) -> bool:
    """Tell whether a child past its time used so little CPU that it must have waited."""
    if started is None or used is None:
        return False
    return used - started < timeout_s * _STARVED_SHARE


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user and system) process ``pid`` has used so far, from ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _start() -> subprocess.Popen[bytes]:
    """Start a child in its own session (a terminal's Ctrl-C is the parent's to handle)."""
    return subprocess.Popen(
        [sys.executable, "-E", "-s", "-B", "-m", "signing.verify.sandbox"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=str(Path(__file__).resolve().parents[2]),  # where the signing package is
        env={"LANG": "C.UTF-8"},
        start_new_session=True,
    )


class _Child:
    """A started child, and whether it has said that its imports are done."""

    def __init__(self) -> None:
        self.process = _start()
        self._lock = threading.Lock()
        self._ready = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout_s: float) -> bool:
        """True once the child is ready; False when it is not within ``timeout_s``.

        Raises OSError when the child ended instead (it cannot start: a broken install).
        """
        with self._lock:
            if not self._ready:
                assert self.process.stdout is not None
                fd = self.process.stdout.fileno()
                readable, _, _ = select.select([fd], [], [], timeout_s)
                if not readable:
                    return False
                if os.read(fd, len(_READY)) != _READY:
                    raise OSError("the verification process ended before it was ready")
                self._ready = True
            return True


class _Spares:
    """Children started ahead of need, each waiting on its standard input for a document."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Child] = []

    def fill(self, count: int) -> list[_Child]:
        """Start children until ``count`` wait; return the waiting ones."""
        with self._lock:
            self._idle = [child for child in self._idle if child.alive()]
            while len(self._idle) < count:
                self._idle.append(_Child())
            return list(self._idle)

    def take(self) -> _Child:
        """A started child: the oldest waiting one, else a new one."""
        with self._lock:
            self._idle = [child for child in self._idle if child.alive()]
            return self._idle.pop(0) if self._idle else _Child()

    def close(self) -> None:
        """End the waiting children (they hold no work) and reap them."""
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.process.kill()
            child.process.communicate()


_SPARES = _Spares()
atexit.register(_SPARES.close)


def main() -> int:
    """The child: import, wait for the header, confine itself, verify, print JSON."""
    os.nice(_NICE)  # its imports too give way to the web server
    from signing.verify.caps import screen_pdf
    from signing.verify.check import verify_pdf

    sys.stdout.buffer.write(_READY)
    sys.stdout.buffer.flush()
    line = sys.stdin.buffer.readline(_HEADER_BYTES)
    if not line:  # the parent ended without needing this spare
        return 0
    header = json.loads(line)
    _confine(header)
    answer: dict[str, Any]
    try:
        data = sys.stdin.buffer.read()
        screening = screen_pdf(data)
        if screening.passed:
            trust = [Path(p) for p in header["trust"]]
            report = verify_pdf(data, trust, caps=None)
        else:
            report = VerifyReport((), screening.reason_vi, problem=screening.problem)
        answer = {"report": report.to_dict()}
    except TrustStoreError as exc:
        answer = {"failure": "trust", "message": exc.message_vi}
    except (MemoryError, RecursionError):
        answer = {"failure": "overrun"}
    except Exception as exc:  # nothing about the document leaves the child but its report
        answer = {"failure": type(exc).__name__}
    sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()
    return 0


def _confine(header: dict[str, Any]) -> None:
    """Cap this process's resources and keep its diagnostics out of every log."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime) + 1 + int(header["cpu_s"])
    _cap(resource.RLIMIT_CORE, 0, 0)
    _cap(resource.RLIMIT_FSIZE, 0, 0)
    _cap(resource.RLIMIT_CPU, cpu, cpu + 1)
    _cap(resource.RLIMIT_AS, int(header["memory_bytes"]), int(header["memory_bytes"]))
    _cap(resource.RLIMIT_NOFILE, int(header["open_files"]), int(header["open_files"]))
    logging.disable(logging.CRITICAL)


def _cap(kind: int, soft: int, hard: int) -> None:
    """Lower a resource limit to ``soft``/``hard``, never above what is already allowed."""
    _, current = resource.getrlimit(kind)
    if current != resource.RLIM_INFINITY:
        hard = min(hard, current)
    resource.setrlimit(kind, (min(soft, hard), hard))


if __name__ == "__main__":
    sys.exit(main())
