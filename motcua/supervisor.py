"""``motcua run``: one machine, every role as a child process, stopped cleanly together."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from django.conf import settings

log = logging.getLogger("motcua.run")
STOP_GRACE_S = 30.0
MAX_RESTARTS = 5
RESTART_WINDOW_S = 120.0


@dataclass
class Child:
    """One supervised process and its restart history."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_file: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)
    essential: bool = True
    """Whether the service stops when this role keeps failing (else it runs on without it)."""

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        out: IO[bytes] = self.log_file.open("ab")
        # A session of its own: the terminal's Ctrl-C reaches only the supervisor,
        # which then stops the children in order.
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", self.name)
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class AlreadyRunning(Exception):
    """Another ``motcua run`` holds this data directory."""


def _lock(run_dir: Path) -> IO[str]:
    run_dir.mkdir(parents=True, exist_ok=True)
    # Opened without truncating: a refused second run must not erase the holder's pid.
    fh = (run_dir / "supervisor.lock").open("a")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        fh.close()
        raise AlreadyRunning(str(run_dir)) from exc
    fh.truncate(0)
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


def redis_argv(run_dir: Path, log_dir: Path) -> list[str]:
    """A private Redis on a unix socket, append-only file on, no TCP port."""
    return [
        "redis-server",
        "--port", "0",
        "--unixsocket", str(run_dir / "redis.sock"),
        "--unixsocketperm", "700",
        "--dir", str(run_dir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "no",
        "--logfile", str(log_dir / "redis.log"),
    ]  # fmt: skip


def wait_for_redis(socket_path: Path, timeout_s: float = 20.0) -> None:
    """Block until the private Redis answers PING on its socket."""
    import redis

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if redis.Redis(unix_socket_path=str(socket_path)).ping():
                return
        except (redis.ConnectionError, FileNotFoundError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"Redis did not start on {socket_path}")
        time.sleep(0.1)


def run_embedded(*, port: int, host: str, workers: int) -> int:
    """Prepare the data directory, start every role and supervise until Ctrl-C."""
    from motcua.firstrun import prepare

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    run_dir: Path = settings.RUN_DIR
    log_dir: Path = settings.LOG_DIR
    try:
        lock = _lock(run_dir)
    except AlreadyRunning:
        print(f"lỗi: dịch vụ đang chạy với thư mục dữ liệu {settings.DATA_DIR}", file=sys.stderr)
        return 2
    prepare(announce=True)

    stopping = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)

    env = dict(os.environ, MOTCUA_DATA_DIR=str(settings.DATA_DIR), PYTHONUNBUFFERED="1")
    if not settings.EMBEDDED:
        log.info("MOTCUA_BROKER_URL is set: using that broker instead of a private Redis")
    redis_child = Child("redis", redis_argv(run_dir, log_dir), env, log_dir / "redis.out")
    me = [sys.executable, "-m", "motcua"]
    children = [
        Child("worker", [*me, "worker", "-c", str(workers)], env, log_dir / "worker.log"),
        Child("beat", [*me, "beat"], env, log_dir / "beat.log"),
        Child("watch", [*me, "watch"], env, log_dir / "watch.log"),
        # only `motcua sign` needs it, and it signs without one: never worth the service
        Child("sign-agent", [*me, "sign-agent"], env, log_dir / "sign-agent.log", essential=False),
        Child("web", [*me, "web", "--host", host, "--port", str(port)], env, log_dir / "web.log"),
    ]
    try:
        if settings.EMBEDDED:
            redis_child.start()
            wait_for_redis(settings.REDIS_SOCKET)
        for child in children:
            child.start()
        print(f"Giao diện web / web interface: http://{host}:{port}/", flush=True)
        print(
            f"Thư mục tiếp nhận / inbox: {settings.INBOX_DIR}/<mã cơ quan>/<mã hồ sơ>/", flush=True
        )
        print(f"Nhật ký / logs: {log_dir}  —  Ctrl-C để dừng / to stop", flush=True)
        # The private broker is supervised too: restarted from its append-only file.
        watched = [redis_child, *children] if settings.EMBEDDED else children
        code = _supervise(watched, lambda: stopping)
    finally:
        deadline = time.monotonic() + STOP_GRACE_S
        for child in reversed(children):
            child.terminate()
        for child in reversed(children):
            child.wait(deadline)
        # The broker goes last so that workers can hand back unfinished messages.
        redis_child.terminate()
        redis_child.wait(time.monotonic() + STOP_GRACE_S)
        lock.close()
        print("Đã dừng / stopped.", flush=True)
    return code


def _supervise(children: list[Child], stopping: Callable[[], bool]) -> int:
    watched = list(children)
    while not stopping():
        for child in list(watched):
            if child.alive():
                continue
            now = time.monotonic()
            child.restarts = [t for t in child.restarts if now - t < RESTART_WINDOW_S]
            if len(child.restarts) >= MAX_RESTARTS:
                if child.essential:
                    log.error("%s keeps failing; see %s", child.name, child.log_file)
                    return 1
                log.error(
                    "%s keeps failing; going on without it (see %s)", child.name, child.log_file
                )
                watched.remove(child)
                continue
            child.restarts.append(now)
            rc = child.proc.returncode if child.proc else None
            log.warning("%s exited (%s); restarting", child.name, rc)
            child.start()
        time.sleep(0.5)
    return 0
