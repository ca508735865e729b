"""The worker's consumer watchdog: the stall rule, and a real worker that stopped consuming."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from core.processes import child_pids
from motcua.watchdog import ConsumerWatch, WatchTerms
from tests.support.fleet import Fleet, PrivateRedis, fresh_postgres
from tests.support.service import poll


class Worker:
    """What the rule sees of a worker: whether it is idle, and the pings it sent."""

    def __init__(self) -> None:
        self.idle = True
        self.broker_up = True
        self.sent = 0

    def send(self) -> bool:
        self.sent += self.broker_up
        return self.broker_up


def _watch(worker: Worker, missed: int = 2) -> ConsumerWatch:
    return ConsumerWatch(worker.send, lambda: worker.idle, WatchTerms(every_s=1, missed=missed))


def test_an_idle_worker_that_takes_no_ping_is_stalled_at_the_second_miss() -> None:
    worker = Worker()
    watch = _watch(worker)
    assert watch.look() is False and worker.sent == 1  # the first ping
    assert watch.look() is False and watch.missed == 1  # one lost ping is not enough
    assert worker.sent == 2  # and another is sent
    assert watch.look() is True


def test_a_worker_that_takes_its_pings_is_never_stalled() -> None:
    worker = Worker()
    watch = _watch(worker)
    for _ in range(20):
        assert watch.look() is False
        watch.received()
    assert watch.missed == 0 and worker.sent == 20


def test_a_busy_worker_is_not_counted_and_its_pings_do_not_pile_up() -> None:
    """A worker running a long task takes its ping only after it: no miss, one ping waiting."""
    worker = Worker()
    watch = _watch(worker)
    watch.look()
    watch.look()  # one miss while idle
    worker.idle = False
    for _ in range(10):
        assert watch.look() is False
    assert watch.missed == 0 and worker.sent == 2
    worker.idle = True
    assert watch.look() is False and watch.missed == 1  # the ping waits no longer
    watch.received()
    assert watch.look() is False and watch.missed == 0


def test_a_broker_that_is_away_counts_no_miss() -> None:
    """Pings that could not be sent are not missed: the consumer reconnects on its own."""
    worker = Worker()
    worker.broker_up = False
    watch = _watch(worker)
    for _ in range(10):
        assert watch.look() is False
    assert watch.missed == 0 and worker.sent == 0
    worker.broker_up = True
    watch.look()
    watch.received()
    assert watch.look() is False and watch.missed == 0


def test_the_children_of_a_process_are_read_from_proc() -> None:
    """What a stalled worker kills before it runs again: its own children, live ones only."""
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in child_pids(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert child.pid not in child_pids(os.getpid())
    assert child_pids(child.pid) == []  # a process that is gone has none


@pytest.mark.e2e
@pytest.mark.distributed
def test_a_worker_that_stopped_consuming_starts_again_in_place(tmp_path: Path) -> None:
    """A real worker whose consumers are all cancelled (as Celery's Redis transport leaves
    one after some broker restarts) restarts within seconds, same process, and consumes."""
    from celery import Celery

    roles: dict[str, tuple[str, ...]] = {"worker": ("worker", "-Q", "default", "-n", "watched@%h")}
    redis = PrivateRedis(tmp_path / "redis")
    control = Celery(broker=redis.url).control

    def queues() -> set[str]:
        found = control.inspect(timeout=1).active_queues() or {}
        return {q["name"] for qs in found.values() for q in qs}

    with (
        redis,
        fresh_postgres() as database,
        Fleet(
            tmp_path / "var",
            roles,
            MOTCUA_DATABASE_URL=database,
            MOTCUA_BROKER_URL=redis.url,
            MOTCUA_WORKER_WATCH_S="1",
        ) as fleet,
    ):
        log = fleet.data_dir / "log" / "worker.log"

        def readies() -> int:
            return log.read_text(errors="replace").count(" ready.") if log.exists() else 0

        fleet.setup(autosign=False)
        fleet.start("worker")
        pid = fleet.procs["worker"].pid
        poll(lambda: "default" in queues(), timeout=60, what="the worker consuming")
        for name in queues():
            control.cancel_consumer(name, reply=True)
        assert not queues()  # consuming nothing, as a stalled worker
        poll(lambda: readies() >= 2, timeout=60, every=0.2, what="the worker started again")
        poll(lambda: "default" in queues(), timeout=60, what="the worker consuming again")
        assert fleet.procs["worker"].poll() is None and fleet.procs["worker"].pid == pid
        assert "took none of its last 2 pings while idle" in log.read_text(errors="replace")
        time.sleep(5)  # healthy again, it stays up over several looks
        assert readies() == 2
        # a worker that exits (as Celery ends one on an error it cannot recover from) is
        # started again by the orchestrator, which the fleet stands in for
        os.killpg(pid, signal.SIGKILL)  # the role's whole process group, pool included
        poll(lambda: readies() >= 3, timeout=60, every=0.2, what="the exited worker back")
        poll(lambda: "default" in queues(), timeout=60, what="the new worker consuming")
        assert fleet.comebacks == [("worker", -signal.SIGKILL)]
