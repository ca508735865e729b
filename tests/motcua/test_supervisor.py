"""Tests of the embedded-mode supervisor: the private Redis, the data-directory lock, restarts."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
import redis

from motcua import supervisor
from motcua.supervisor import AlreadyRunning, Child, _lock, _supervise, redis_argv, wait_for_redis
from tests.conftest import DataDirs


def options(argv: list[str]) -> dict[str, str]:
    """The ``--name value`` pairs of a redis-server command line."""
    pairs = argv[1:]
    assert len(pairs) % 2 == 0
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


def test_redis_argv_is_private_and_durable(tmp_path: Path) -> None:
    """The private Redis listens on a unix socket in the run dir only, with append-only on."""
    run_dir, log_dir = tmp_path / "run", tmp_path / "log"
    argv = redis_argv(run_dir, log_dir)
    assert argv[0] == "redis-server"
    opts = options(argv)
    assert opts["--port"] == "0"
    assert "--bind" not in opts
    assert Path(opts["--unixsocket"]).parent == run_dir
    assert opts["--unixsocketperm"] == "700"
    assert opts["--appendonly"] == "yes"
    assert opts["--dir"] == str(run_dir)
    assert Path(opts["--logfile"]).parent == log_dir
    assert opts["--daemonize"] == "no"


@pytest.fixture()
def private_redis(tmp_path: Path) -> Iterator[Path]:
    """A real redis-server started from redis_argv; stopped and reaped afterwards."""
    run_dir = tmp_path / "run"
    log_dir = tmp_path / "log"
    run_dir.mkdir()
    log_dir.mkdir()
    proc = subprocess.Popen(
        redis_argv(run_dir, log_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_redis(run_dir / "redis.sock", timeout_s=10)
        yield run_dir
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_private_redis_runs_as_configured(private_redis: Path) -> None:
    """The server started from redis_argv answers on its socket, no TCP port, AOF on."""
    client = redis.Redis(unix_socket_path=str(private_redis / "redis.sock"))
    try:
        assert client.config_get("port") == {"port": "0"}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.set("k", "v")
    finally:
        client.close()
    socket_mode = (private_redis / "redis.sock").stat().st_mode & 0o777
    assert socket_mode == 0o700


def test_wait_for_redis_gives_up_after_its_timeout(tmp_path: Path) -> None:
    """With no server on the socket, waiting ends in TimeoutError rather than hanging."""
    clock = iter([0.0, 0.5, 100.0])
    with (
        mock.patch("redis.Redis", side_effect=redis.ConnectionError("no server")) as connect,
        mock.patch("motcua.supervisor.time.monotonic", side_effect=lambda: next(clock)),
        mock.patch("motcua.supervisor.time.sleep"),
        pytest.raises(TimeoutError),
    ):
        wait_for_redis(tmp_path / "none.sock", timeout_s=1)
    assert connect.call_count == 2


def test_data_dir_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    """While one supervisor holds the data directory, a second is refused; the pid file stays."""
    run_dir = tmp_path / "run"
    first = _lock(run_dir)
    try:
        with pytest.raises(AlreadyRunning):
            _lock(run_dir)
        assert (run_dir / "supervisor.lock").read_text() == str(os.getpid())
    finally:
        first.close()
    second = _lock(run_dir)
    second.close()


def test_run_embedded_refuses_a_data_dir_in_use(
    data_dirs: DataDirs, capsys: pytest.CaptureFixture[str]
) -> None:
    """``motcua run`` on a data directory another run holds exits 2 without touching it."""
    held = _lock(data_dirs.run)
    try:
        with mock.patch("motcua.firstrun.prepare") as prepare:
            assert supervisor.run_embedded(port=0, host="127.0.0.1", workers=1) == 2
        prepare.assert_not_called()
    finally:
        held.close()
    assert "đang chạy" in capsys.readouterr().err


def test_supervise_restarts_a_dead_child_then_gives_up(tmp_path: Path) -> None:
    """A child that keeps dying is restarted up to the limit, then supervision fails with 1."""
    child = Child("flaky", ["true"], dict(os.environ), tmp_path / "flaky.log")
    child.start()
    assert child.proc is not None
    child.proc.wait()
    real_sleep = time.sleep
    try:
        with mock.patch("motcua.supervisor.time.sleep", side_effect=lambda s: real_sleep(0.01)):
            assert _supervise([child], lambda: False) == 1
    finally:
        child.wait(time.monotonic() + 5)
    assert len(child.restarts) == supervisor.MAX_RESTARTS


def test_supervise_goes_on_without_an_optional_child_that_keeps_failing(tmp_path: Path) -> None:
    """A child that is not essential (the signing agent) is given up after the same
    restarts; the others are still supervised, and supervision ends only when asked."""
    flaky = Child("flaky", ["true"], dict(os.environ), tmp_path / "flaky.log", essential=False)
    steady = Child("steady", ["sleep", "30"], dict(os.environ), tmp_path / "steady.log")
    flaky.start()
    steady.start()
    checks = 0

    def stopping() -> bool:
        nonlocal checks
        checks += 1
        return checks > 3 * supervisor.MAX_RESTARTS

    real_sleep = time.sleep
    try:
        with mock.patch("motcua.supervisor.time.sleep", side_effect=lambda s: real_sleep(0.05)):
            assert _supervise([flaky, steady], stopping) == 0
        assert steady.alive()
    finally:
        steady.terminate()
        for child in (flaky, steady):
            child.wait(time.monotonic() + 5)
    assert len(flaky.restarts) == supervisor.MAX_RESTARTS
    assert steady.restarts == []


def test_supervise_returns_0_when_asked_to_stop(tmp_path: Path) -> None:
    """A stop request ends supervision cleanly and the child is then stopped."""
    child = Child("sleeper", ["sleep", "30"], dict(os.environ), tmp_path / "sleeper.log")
    child.start()
    try:
        assert _supervise([child], lambda: True) == 0
    finally:
        child.terminate()
        child.wait(time.monotonic() + 5)
    assert not child.alive()
