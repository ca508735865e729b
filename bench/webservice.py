"""The private Redis and ``motcua web`` the web benchmarks run against, and their CPU time.

Only 127.0.0.1 is used. The web server is told it sits behind one reverse proxy
(``MOTCUA_TRUSTED_PROXIES=1``), so a benchmark can give each request its own
X-Forwarded-For address, as nginx does for many citizens.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.processes import tree_cpu_s

MOTCUA = Path(sys.executable).with_name("motcua")
ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Pids:
    """The server's processes, whose CPU time a benchmark reads."""

    web: int = 0
    redis: int = 0

    def cpu_s(self) -> tuple[float, float]:
        """CPU seconds so far: the web server's process tree, and Redis."""
        return tree_cpu_s(self.web), tree_cpu_s(self.redis)


def setup(data_dir: Path) -> None:
    """``motcua setup`` of a scratch data directory."""
    env = {**os.environ, "MOTCUA_DATA_DIR": str(data_dir)}
    subprocess.run([str(MOTCUA), "setup"], env=env, check=True, capture_output=True)


@contextmanager
def service(
    data_dir: Path,
    port: int,
    threads: int,
    processes: int,
    pids: Pids,
    extra_env: dict[str, str] | None = None,
) -> Iterator[dict[str, str]]:
    """The private Redis and ``motcua web``, stopped and reaped on the way out."""
    from motcua.supervisor import redis_argv, wait_for_redis

    run_dir, log_dir = data_dir / "run", data_dir / "log"
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "MOTCUA_DATA_DIR": str(data_dir),
        "MOTCUA_TRUSTED_PROXIES": "1",
        "MOTCUA_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    redis = subprocess.Popen(redis_argv(run_dir, log_dir), stdout=subprocess.DEVNULL)
    web: subprocess.Popen[bytes] | None = None
    try:
        wait_for_redis(run_dir / "redis.sock", timeout_s=20)
        web_log = (log_dir / "web.log").open("ab")
        argv = [str(MOTCUA), "web", "--host", HOST, "--port", str(port)]
        argv += ["--threads", str(threads), "--processes", str(processes)]
        web = subprocess.Popen(argv, env=env, stdout=web_log, stderr=subprocess.STDOUT)
        web_log.close()
        pids.web, pids.redis = web.pid, redis.pid
        deadline = time.monotonic() + 60
        while not _healthy(port):
            if web.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "motcua web did not start:\n" + (log_dir / "web.log").read_text()
                )
            time.sleep(0.1)
        yield env
    finally:
        for child in (web, redis):
            if child is not None and child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def _healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        conn.request("GET", "/healthz")
        healthy = conn.getresponse().status == 200
        conn.close()
        return healthy
    except OSError:
        return False
