"""Verification in a child process bounded in CPU, memory, open files and wall-clock time.

The parent (:func:`verify_in_sandbox`) takes a child forked beforehand by this process's
fork server (:mod:`signing.verify.forkserver`: pyHanko imported once, a child ready in
milliseconds; a spare), writes a header line and the document on the child's socket,
and reads one line of JSON back, killing the child when the wall-clock limit passes.
The child (:func:`signing.verify.child.serve`) caps its CPU time, address space, open
files and file writes before it reads a byte of the document, screens it against the
caps (:mod:`signing.verify.caps`), then verifies it. Each child checks one document and
exits. Nothing but the report leaves the child: its errors go nowhere.

Children are killed through a pidfd taken while they are known to be alive, so a kill
never reaches another process that was given the same pid (by pid, checked alive just
before, on a kernel without pidfds).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from signing.errors import TrustStoreError
from signing.verify.forkserver import ForkServer
from signing.verify.report import VerifyReport

__all__ = [
    "BROKEN_VI",
    "OVERRUN_VI",
    "SandboxLimits",
    "VerificationStarved",
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
    """Children kept forked and waiting; with none, the fork server itself is started only
    when a first document comes."""


_STARVED_SHARE = 0.25
"""A child killed by the wall clock after using less than this share of it in CPU time
was starved by a busy machine rather than kept busy by its document."""


def verify_in_sandbox(
    data: bytes, trust_roots: Sequence[Path], limits: SandboxLimits | None = None
) -> VerifyReport:
    """Verify ``data`` as :func:`signing.verify.check.verify_pdf` does, in a bounded child.

    The wall-clock limit counts from when the child, forked, takes the document. A child
    that runs out of time, CPU or memory, or dies, gives a report with the problem
    ``overrun``; one whose verification failed unexpectedly, a report refused as broken.
    Raises :class:`VerificationStarved` when the child was not ready in time (a fork
    server still importing on a busy machine) or hardly had the CPU before its time ran
    out, :class:`TrustStoreError` when a trust root cannot be read (as ``verify_pdf``
    does) and OSError when no child can be started.
    """
    limits = limits or SandboxLimits()
    header = {**asdict(limits), "trust": [str(p) for p in trust_roots]}
    child = _SPARES.take()
    try:
        if not child.wait_ready(limits.timeout_s):
            raise VerificationStarved()
        started = _cpu_seconds(child.pid)
        out = child.exchange(
            json.dumps(header).encode() + b"\n" + data, limits.timeout_s, limits.report_bytes
        )
        if out is None:  # past its time
            if _starved(started, _cpu_seconds(child.pid), limits.timeout_s):
                raise VerificationStarved()
            return VerifyReport((), OVERRUN_VI, problem="overrun")
    finally:
        child.kill()  # past its time, done, or an error of our own: never left behind
        _refill(limits.spares)
    if not out.endswith(b"\n") or len(out) > limits.report_bytes:
        return VerifyReport((), OVERRUN_VI, problem="overrun")  # it died: no whole answer
    return _report(out)


def _refill(spares: int) -> None:
    """Fork the next spares once a check is done (not while it runs, to leave it the CPU)."""
    try:
        _SPARES.fill(spares)
    except OSError:  # the next check starts its own child, or says why it cannot
        logger.warning("verify sandbox: no spare process could be started")


def start_spares(count: int, *, wait_s: float = 0) -> None:
    """Have ``count`` children forked and waiting (at web server start, say), the fork
    server started for them, and wait up to ``wait_s`` seconds for them to be ready."""
    deadline = time.monotonic() + wait_s
    for child in _SPARES.fill(count):
        child.wait_ready(max(0.0, deadline - time.monotonic()))


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


class _Child:
    """A child asked of the fork server: its socket, and once known its pid and a pidfd."""

    def __init__(self, server: ForkServer) -> None:
        self.conn = server.fork()
        self.pid = 0
        self._pidfd: int | None = None
        self._lock = threading.Lock()
        self._line = b""

    def wait_ready(self, timeout_s: float) -> bool:
        """True once the child is forked (its pid read); False when not within ``timeout_s``.

        Raises OSError when the socket ended instead (the server could not fork, or the
        child died at once).
        """
        with self._lock:
            deadline = time.monotonic() + timeout_s
            while not self.pid:
                left = deadline - time.monotonic()
                if not select.select([self.conn], [], [], max(0.0, left))[0]:
                    return False
                chunk = self.conn.recv(32)
                if not chunk:
                    raise OSError("the verification process ended before it was ready")
                self._line += chunk
                if self._line.endswith(b"\n"):
                    self._adopt(int(self._line))
            return True

    def _adopt(self, pid: int) -> None:
        """Take a pidfd of ``pid``, then make sure the child still lives: so the pidfd is
        its own, whatever process may later be given the same pid."""
        with contextlib.suppress(OSError):  # a kernel without pidfds (before 5.3)
            self._pidfd = os.pidfd_open(pid)
        if self._ended():
            raise OSError("the verification process ended before it was ready")
        self.pid = pid

    def _ended(self) -> bool:
        """A waiting child never writes: its socket readable means it was closed."""
        return bool(select.select([self.conn], [], [], 0)[0])

    def alive(self) -> bool:
        """Not known to have ended (a child being forked counts as alive)."""
        try:
            if not self.pid and not self.wait_ready(0):
                return True  # still being forked
            return not self._ended()
        except (OSError, ValueError):
            return False

    def exchange(self, payload: bytes, timeout_s: float, limit: int) -> bytes | None:
        """Send ``payload`` and read the answer until the child closes its socket; None
        when ``timeout_s`` passes first. At most ``limit`` + 1 bytes are kept."""
        deadline = time.monotonic() + timeout_s
        out = bytearray()
        try:
            self.conn.settimeout(timeout_s)
            self.conn.sendall(payload)
            self.conn.shutdown(socket.SHUT_WR)
            while len(out) <= limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.conn.settimeout(left)
                chunk = self.conn.recv(65536)
                if not chunk:
                    break
                out += chunk
        except TimeoutError:
            return None
        except OSError:  # it died while reading the document: no answer
            return bytes(out)
        return bytes(out)

    def kill(self) -> None:
        """End the child if it still runs, and let go of its socket and pidfd."""
        with contextlib.suppress(ProcessLookupError):
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            elif self.pid and not self._ended():  # without a pidfd: by pid, while it lives
                os.kill(self.pid, signal.SIGKILL)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self.conn.close()


class _Spares:
    """The fork server and the children it forked ahead of need, each waiting for a document."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self._server: ForkServer | None = None

    def _fork(self) -> _Child:
        """A new child (with the lock held), the fork server started again if it ended."""
        if self._server is not None and self._server.alive():
            try:
                return _Child(self._server)
            except OSError:  # it ended just now
                pass
        if self._server is not None:
            self._server.close()
        self._server = ForkServer()
        return _Child(self._server)

    def fill(self, count: int) -> list[_Child]:
        """Fork children until ``count`` wait; return the waiting ones."""
        with self._lock:
            self._idle = self._alive()
            while len(self._idle) < count:
                self._idle.append(self._fork())
            return list(self._idle)

    def take(self) -> _Child:
        """A child: the oldest waiting one, else a new one."""
        with self._lock:
            self._idle = self._alive()
            return self._idle.pop(0) if self._idle else self._fork()

    def _alive(self) -> list[_Child]:
        alive = []
        for child in self._idle:
            if child.alive():
                alive.append(child)
            else:
                child.kill()
        return alive

    def close(self) -> None:
        """End the waiting children (they hold no work) and the fork server."""
        with self._lock:
            idle, self._idle = self._idle, []
            server, self._server = self._server, None
        for child in idle:
            child.kill()
        if server is not None:
            server.close()


_SPARES = _Spares()
atexit.register(_SPARES.close)
