"""The worker's consumer watchdog: a worker that no longer takes messages starts itself again.

Celery's Redis transport can come back from a broker restart connected but consuming
nothing (celery/celery#8030, #10205: still open for Celery 5.7 and kombu 5.7); its queues
then fill while it idles, and no recovery helps, because recoveries are messages too. So
each worker sends a ping to its own queue (Celery's ``worker_direct``) and watches for it:
a worker that stays idle while its pings go unreceived is stalled, finishes nothing (it
runs nothing) and is started again in place, the same process id under the same
supervisor, by a warm shutdown followed by ``exec`` of its own command line.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.processes import child_pids

__all__ = ["ConsumerWatch", "InPlaceRestart", "QuietPings", "WatchTerms"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchTerms:
    """How often a worker pings itself, and when it counts as stalled."""

    every_s: float = 30.0
    """Seconds between two looks: was the last ping received? Then the next is sent."""

    missed: int = 2
    """Looks in a row at which the worker was idle and its ping still unreceived before it
    restarts (one lost ping, e.g. with a broker that restarted, is not enough)."""

    shutdown_grace_s: float = 60.0
    """Seconds the warm shutdown of a stalled worker may take before it is replaced anyway."""


class ConsumerWatch:
    """The stall rule, without threads or Celery: :meth:`look` once every ``every_s``."""

    def __init__(self, send: Callable[[], bool], idle: Callable[[], bool], terms: WatchTerms):
        self._send = send
        self._idle = idle
        self.terms = terms
        self._received = threading.Event()
        self._outstanding = False
        self.missed = 0

    def received(self) -> None:
        """The consumer took one of this worker's pings (called from Celery's consumer)."""
        self._received.set()

    def look(self) -> bool:
        """Count a miss when the worker is idle and its ping is still unreceived (a busy
        worker is consuming, and its ping may wait behind the task it took); send a new
        ping when none is outstanding. Whether the worker is stalled."""
        got = self._received.is_set()
        self._received.clear()
        if got:
            self._outstanding = False
        if self._outstanding and not got and self._idle():
            self.missed += 1
            self._outstanding = False  # the ping may have been lost: send another
        elif got or not self._idle():
            self.missed = 0
        if self.missed >= self.terms.missed:
            return True
        if not self._outstanding:
            self._outstanding = self._send()
        return False


class QuietPings(logging.Filter):
    """Leaves out Celery's lines about one task: the watchdog's ping, "received" and
    "succeeded" two lines a look of every worker, and "Discarding revoked task" for the
    pings that expired while a worker restarted."""

    def __init__(self, task_name: str) -> None:
        super().__init__()
        self.task_name = task_name

    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)
        if isinstance(data, dict) and data.get("name") == self.task_name:
            return False
        args = record.args
        return not (isinstance(args, tuple) and args[:1] == (self.task_name,))


class InPlaceRestart:
    """A stalled worker's restart: a warm shutdown, then ``exec`` of its own command line.

    A stop from outside (the supervisor's SIGTERM, Ctrl-C) wins: :meth:`cancel`, called
    when Celery hears one, takes the restart back, so a worker told to stop at the moment
    its watchdog restarts it stops and stays stopped. Nothing here takes a lock: the
    cancel runs in a signal handler, which another signal's handler may interrupt.
    """

    POLL_S = 0.1
    """How often the watchdog's thread looks for a cancel while the worker shuts down."""

    def __init__(
        self, stop: Callable[[], None], execute: Callable[[list[str]], None] | None = None
    ) -> None:
        self._stop = stop
        self._execute = execute or _run_again
        self._cancelled = False
        self._argv: list[str] = []

    def begin(self, grace_s: float) -> None:
        """Stop this worker warmly (it is idle: nothing to finish) with ``exec`` of its command
        line at exit; replace it anyway when the shutdown hangs past ``grace_s``."""
        if self._cancelled:
            return
        self._argv = list(sys.orig_argv)
        atexit.register(self._exec)
        if self._cancelled:  # a stop came in between, and may have found nothing to call off
            atexit.unregister(self._exec)
            return
        self._stop()
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if self._cancelled:
                log.warning("the worker was told to stop: its restart is called off")
                return
            time.sleep(self.POLL_S)
        log.error("the stalled worker did not stop in %.0f s: replacing it now", grace_s)
        _kill_children()
        self._exec()

    def cancel(self) -> None:
        """Stop for good: a stop from outside came (safe in a signal handler)."""
        self._cancelled = True
        atexit.unregister(self._exec)

    def _exec(self) -> None:
        """Run the command line again in this process, unless a stop came meanwhile."""
        if not self._cancelled:
            self._execute(self._argv)


def _run_again(argv: list[str]) -> None:
    logging.shutdown()
    os.execv(sys.executable, argv)


def _kill_children() -> None:
    """SIGKILL this process's children (the pool), which an ``exec`` would leave behind."""
    for pid in child_pids(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
