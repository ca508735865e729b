"""Leases on units of work: who holds one, when it lapses, and the heartbeat that renews it."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "LEASE_TERMS",
    "LeaseTerms",
    "heartbeat",
    "holder_gone",
    "new_holder",
    "pid_alive",
]


@dataclass(frozen=True)
class LeaseTerms:
    """How long a claim on a unit (a page, a document's stage) holds, and when to give up."""

    lease_s: float = 30.0
    """Seconds a claim holds without a heartbeat; a worker that dies frees its unit after this."""

    renew_every_s: float = 10.0
    """Seconds between two heartbeats of a running unit (a third of the lease)."""

    max_claims: int = 3
    """Claims of one unit that ended without a release (each a worker that died while
    holding it) after which the unit is failed for a person instead of tried again."""

    def until(self, now: datetime) -> datetime:
        """When a claim taken or renewed at ``now`` lapses."""
        return now + timedelta(seconds=self.lease_s)

    def poisoned(self, claims: int) -> bool:
        """Whether a unit claimed ``claims`` times without a release kills its worker."""
        return claims > self.max_claims


LEASE_TERMS = LeaseTerms()
"""The terms every stage's units are claimed under."""


def new_holder(host: str | None = None, pid: int | None = None) -> str:
    """A claim's holder: ``host:pid:random``, so a dead process on this host is recognised."""
    return f"{host or socket.gethostname()}:{pid or os.getpid()}:{uuid.uuid4().hex[:12]}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(") ", 1)[-1][:1]
    except OSError:
        return False
    return state not in {"Z", "X"}


def holder_gone(
    holder: str,
    *,
    host: str | None = None,
    alive: Callable[[int], bool] = pid_alive,
) -> bool:
    """Whether ``holder`` is a process of this host that no longer runs.

    Its claim may then be taken over at once instead of after the lease: a worker's
    child killed mid-task is replaced by Celery and the task redelivered within a
    second. A holder on another host (another container) is never judged here.
    """
    parts = holder.split(":")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    return parts[0] == (host or socket.gethostname()) and not alive(int(parts[1]))


@contextmanager
def heartbeat(
    renew: Callable[[], bool],
    *,
    every_s: float,
    finished: Callable[[], None] | None = None,
) -> Iterator[threading.Event]:
    """Call ``renew`` every ``every_s`` seconds on a thread while the body runs.

    Yields an event set when a renewal found the claim gone (taken over): the body
    may look at it before committing its outcome. ``finished`` runs on the thread as
    it ends (a database connection of its own to close).
    """
    done = threading.Event()
    lost = threading.Event()

    def beat() -> None:
        try:
            while not done.wait(every_s):
                if not renew():
                    lost.set()
                    return
        finally:
            if finished is not None:
                finished()

    thread = threading.Thread(target=beat, name="lease-heartbeat", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        done.set()
        thread.join()
