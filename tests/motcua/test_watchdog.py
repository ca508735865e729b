"""The worker's consumer watchdog: the stall rule, and a real worker that stopped consuming."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.processes import child_pids
from motcua.celery import PING
from motcua.watchdog import ConsumerWatch, InPlaceRestart, WatchTerms
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


def test_a_restart_called_off_before_it_began_stops_nothing() -> None:
    """A stop from outside that came first: the watchdog's restart neither stops nor runs."""
    stops: list[bool] = []
    runs: list[list[str]] = []
    restart = InPlaceRestart(lambda: stops.append(True), runs.append)
    restart.cancel()
    restart.begin(grace_s=0.01)
    restart._exec()  # as at exit
    assert stops == [] and runs == []


def test_a_stop_during_the_restarts_shutdown_calls_it_off() -> None:
    """The supervisor's stop arrives while the worker shuts down for its restart: the
    watchdog stops waiting at once and the worker does not run again at exit."""
    runs: list[list[str]] = []
    restart = InPlaceRestart(lambda: restart.cancel(), runs.append)
    started = time.monotonic()
    restart.begin(grace_s=30)
    assert time.monotonic() - started < 5
    restart._exec()  # as at exit
    assert runs == []


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


class WatchedWorker:
    """One real worker role watched every second, over PostgreSQL and a private Redis."""

    def __init__(self, fleet: Fleet, broker_url: str) -> None:
        from celery import Celery

        self.fleet = fleet
        self.control = Celery(broker=broker_url).control
        self.log = fleet.data_dir / "log" / "worker.log"

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def readies(self) -> int:
        return self.text().count(" ready.")

    def queues(self) -> set[str]:
        found = self.control.inspect(timeout=1).active_queues() or {}
        return {q["name"] for qs in found.values() for q in qs}

    def stall(self) -> None:
        """Cancel every consumer: the worker takes nothing, as a stalled one."""
        for name in self.queues():
            self.control.cancel_consumer(name, reply=True)
        assert not self.queues()


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[WatchedWorker]:
    roles: dict[str, tuple[str, ...]] = {"worker": ("worker", "-Q", "default", "-n", "watched@%h")}
    redis = PrivateRedis(tmp_path / "redis")
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
        fleet.setup(autosign=False)
        fleet.start("worker")
        worker = WatchedWorker(fleet, redis.url)
        poll(lambda: "default" in worker.queues(), timeout=60, what="the worker consuming")
        yield worker


@pytest.mark.e2e
@pytest.mark.distributed
def test_a_worker_that_stopped_consuming_starts_again_in_place(watched: WatchedWorker) -> None:
    """A real worker whose consumers are all cancelled (as Celery's Redis transport leaves
    one after some broker restarts) restarts within seconds, same process, and consumes."""
    fleet = watched.fleet
    pid = fleet.procs["worker"].pid
    watched.stall()
    poll(lambda: watched.readies() >= 2, timeout=60, every=0.2, what="the worker started again")
    poll(lambda: "default" in watched.queues(), timeout=60, what="the worker consuming again")
    assert fleet.procs["worker"].poll() is None and fleet.procs["worker"].pid == pid
    assert "took none of its last 2 pings while idle" in watched.text()
    time.sleep(5)  # healthy again, it stays up over several looks
    assert watched.readies() == 2
    # the pings, taken or expired while it restarted, are kept out of the log
    assert f"{PING}[" not in watched.text()
    # a worker that exits (as Celery ends one on an error it cannot recover from) is
    # started again by the orchestrator, which the fleet stands in for
    os.killpg(pid, signal.SIGKILL)  # the role's whole process group, pool included
    poll(lambda: watched.readies() >= 3, timeout=60, every=0.2, what="the exited worker back")
    poll(lambda: "default" in watched.queues(), timeout=60, what="the new worker consuming")
    assert fleet.comebacks == [("worker", -signal.SIGKILL)]


@pytest.mark.e2e
@pytest.mark.distributed
def test_a_worker_told_to_stop_while_restarting_stays_stopped(watched: WatchedWorker) -> None:
    """The supervisor's SIGTERM at the moment the watchdog restarts a stalled worker wins: the
    worker exits and does not run its command line again."""
    watched.stall()
    poll(
        lambda: "took none of its last 2 pings" in watched.text(),
        timeout=60,
        every=0.02,
        what="the watchdog restarting the worker",
    )
    assert watched.fleet.terminate("worker", timeout=30) is not None
    assert watched.readies() == 1  # never started again
