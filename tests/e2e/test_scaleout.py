"""The distributed roles under SIGKILL and a broker restart: every dossier completes, once.

PostgreSQL of the machine, a private Redis of the test's own (its own port, append-only
file) or a RabbitMQ virtual host; separate web-less roles: two workers, beat and watch.
Dossiers of one small page each (the smallest that still pass every stage: pages, OCR,
assembly, automatic signing, publishing, email and SMS).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest

from tests.support.fleet import Fleet, PrivateRedis, fresh_postgres, rabbitmq_vhost
from tests.support.service import poll

pytestmark = [pytest.mark.e2e, pytest.mark.distributed]


def _kill_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _holder_pid(fleet: Fleet, table: str, stage: str | None = None) -> int | None:
    """The process holding a live lease in ``table`` (a page, or a document's stage); a unit
    only sent to the queue (holder ``queued``) has no process yet."""
    sql = f"select lease_holder from {table} where lease_holder not in ('', 'queued')"
    rows = fleet.query(sql + (" and stage = %s" if stage else ""), *([stage] if stage else []))
    for (holder,) in rows:
        return int(holder.split(":")[1])
    return None


def _held_page(fleet: Fleet) -> tuple[int, str] | None:
    """A page under OCR and its holder."""
    rows = fleet.query(
        "select id, lease_holder from digitize_page where lease_holder not in ('', 'queued')"
    )
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def _taken_over(fleet: Fleet, page_id: int, holder: str) -> bool:
    """Whether the page a killed worker held is done or claimed by another process."""
    ((done, now_held_by),) = fleet.query(
        "select done, lease_holder from digitize_page where id = %s", page_id
    )
    return bool(done) or now_held_by not in ("", "queued", holder)


def _kill_lease_holder(fleet: Fleet, table: str, stage: str | None = None) -> int:
    pid = poll(
        lambda: _holder_pid(fleet, table, stage), timeout=120, every=0.05, what=f"{table} claimed"
    )
    _kill_pid(pid)
    return pid


def _wait_all_delivered(fleet: Fleet, codes: list[str], timeout: float) -> None:
    def done() -> bool:
        states = fleet.states()
        failed = {c: s for c, s in states.items() if s == "FAILED"}
        assert not failed, failed
        return all(states.get(c) == "DELIVERED" for c in codes)

    try:
        poll(done, timeout=timeout, every=1, what="every dossier delivered")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; where each stands:\n{_whereabouts(fleet)}") from None


def _whereabouts(fleet: Fleet) -> str:
    """The dossiers not delivered and the state of their units, for a failure's message."""
    lines = [f"{code}: {state}" for code, state in sorted(fleet.states().items())]
    for table, columns in (
        ("digitize_page", "document_id, index, done, lease_holder, lease_until, lease_claims"),
        ("digitize_documentwork", "document_id, stage, lease_holder, lease_until, lease_claims"),
        ("signing_autosignature", "document_id, running_since, signed_at, lease_holder"),
        ("publishing_outboxmessage", "document_id, channel, state, claimed_by"),
    ):
        rows = fleet.query(f"select {columns} from {table} order by 1")
        lines += [f"{table}: {row}" for row in rows]
    lines += [
        f"started again after exiting: {name} (code {code})" for name, code in fleet.comebacks
    ]
    return "\n".join(lines)


def _assert_exactly_once(fleet: Fleet, n: int) -> None:
    report = fleet.report()
    assert report == {
        "signed_events": n,
        "emails": n,
        "emails_distinct": n,
        "sms": n,
        "sms_distinct": n,
    }, report
    signed = fleet.query(
        "select count(distinct signed_sha256) from signing_autosignature "
        "where signed_at is not null"
    )
    assert signed[0][0] == n


def test_kills_under_load_lose_and_double_nothing(tmp_path: Path) -> None:
    """A worker child killed in OCR, in assembly and in signing, a whole worker with tasks
    reserved, the scheduler and the broker: all complete, each exactly once. A message the
    broker or a killed worker lost is sent again once its unit's grace has passed (pages,
    splitting and assembly), well before the stage's own limit (15 minutes in digitizing);
    the page the killed worker held is taken over within a minute."""
    with (
        PrivateRedis(tmp_path / "redis") as redis,
        fresh_postgres() as database,
        Fleet(tmp_path / "var", MOTCUA_DATABASE_URL=database, MOTCUA_BROKER_URL=redis.url) as fleet,
    ):
        fleet.setup()
        fleet.start_all()
        first = [f"HS-KILL-{n:03d}" for n in range(4)]
        fleet.drop(first, seed=3)
        _kill_lease_holder(fleet, "digitize_page")  # a child during OCR
        _kill_lease_holder(fleet, "digitize_documentwork", "assemble")  # during assembly
        # the child during signing: the lease holder only. Killing every child of the
        # worker could kill the redelivered task again in the next one, and a document
        # whose signing kills its process three times running is rightly given up.
        _kill_lease_holder(fleet, "signing_autosignature")

        second = [f"HS-KILL-{n:03d}" for n in range(4, 8)]
        fleet.drop(second, seed=5)
        page_id, holder = poll(lambda: _held_page(fleet), timeout=120, every=0.05, what="OCR")
        fleet.restart("worker-ocr")  # the whole worker, with its tasks reserved
        fleet.kill("beat")  # the scheduler
        redis.restart()  # the broker, from its append-only file
        fleet.start("beat")
        poll(
            lambda: _taken_over(fleet, page_id, holder),
            timeout=60,
            every=0.5,
            what="the killed worker's page taken over",
        )
        _wait_all_delivered(fleet, first + second, timeout=240)
        _assert_exactly_once(fleet, len(first + second))


def test_rabbitmq_broker_a_killed_worker_loses_nothing(tmp_path: Path) -> None:
    """RabbitMQ instead of Redis: a killed OCR child and a killed whole worker, once each."""
    with (
        fresh_postgres() as database,
        rabbitmq_vhost() as broker,
        PrivateRedis(tmp_path / "cache") as cache,
        Fleet(
            tmp_path / "var",
            MOTCUA_DATABASE_URL=database,
            MOTCUA_BROKER_URL=broker,
            MOTCUA_CACHE_URL=cache.url,
        ) as fleet,
    ):
        fleet.setup()
        fleet.start_all()
        codes = [f"HS-AMQP-{n:03d}" for n in range(2)]
        fleet.drop(codes, seed=9)
        _kill_lease_holder(fleet, "digitize_page")
        poll(lambda: _holder_pid(fleet, "digitize_page"), timeout=120, every=0.05, what="OCR")
        fleet.restart("worker-ocr")
        _wait_all_delivered(fleet, codes, timeout=180)
        _assert_exactly_once(fleet, len(codes))
