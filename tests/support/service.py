"""Running the real ``motcua`` service and commands from tests, and cleaning up after them."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
MOTCUA = [sys.executable, "-m", "motcua"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(check: Callable[[], T | None], *, timeout: float, every: float = 0.5, what: str = "") -> T:
    """Call ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def service_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env.update(
        MOTCUA_DATA_DIR=str(data_dir),
        MOTCUA_SETTLE_SECONDS="1",
        MOTCUA_WATCH_RESCAN_S="0.5",
        MOTCUA_RECOVERY_EVERY_S="5",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def motcua(
    args: list[str], env: dict[str, str], *, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run one ``motcua`` command and return its outcome."""
    done = subprocess.run(
        [*MOTCUA, *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"motcua {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


def motcua_json(args: list[str], env: dict[str, str]) -> Any:
    return json.loads(motcua([*args, "--json"], env).stdout)


def processes_with_env(key: str, value: str) -> list[int]:
    """PIDs of live processes with ``key=value`` in their environment or command line."""
    needle = f"{key}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.split(") ", 1)[-1].startswith("Z"):
            continue
        if needle in environ.split(b"\0") or value.encode() in cmdline:
            found.append(int(entry.name))
    return found


class Service:
    """``motcua run`` in a temporary data directory, stopped with Ctrl-C (SIGINT) at the end."""

    def __init__(self, data_dir: Path, **extra_env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.env = service_env(
            data_dir, MOTCUA_PUBLIC_URL=f"http://127.0.0.1:{self.port}", **extra_env
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self, timeout: float = 120) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir.parent / "run.out").open("w") as out:
            self.proc = subprocess.Popen(
                [*MOTCUA, "run", "--port", str(self.port), "--workers", "2"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"motcua run exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as r:
                    return bool(r.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        poll(up, timeout=timeout, what="the web role to answer")

    def log(self) -> str:
        parts = [self.output, (self.data_dir.parent / "run.out").read_text(errors="replace")]
        for f in sorted((self.data_dir / "log").glob("*.log")):
            parts.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-6000:])
        return "\n".join(parts)

    def stop(self, timeout: float = 90) -> int:
        """Ctrl-C the supervisor; return its exit code (kill everything left if it hangs)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9
        finally:
            for pid in processes_with_env("MOTCUA_DATA_DIR", str(self.data_dir)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


class Browser:
    """A tiny cookie-keeping HTTP client that speaks Django's CSRF protocol."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base + path, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def post_form(
        self, path: str, fields: dict[str, str], *, form_page: str | None = None
    ) -> tuple[int, bytes]:
        """POST a form as a browser would, with the CSRF token from the page that shows it."""
        status, page = self.get(form_page or path)
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, f"no CSRF token on {path} ({status})"
        body = urllib.parse.urlencode(
            {**fields, "csrfmiddlewaretoken": match.group(1).decode()}
        ).encode()
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Referer": self.base + path}
        )
        try:
            with self.opener.open(request, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


class Roles(Service):
    """The distributed deployment on one machine: each role its own process, shared services."""

    ROLES: tuple[tuple[str, ...], ...] = (
        ("worker", "-Q", "ocr,default", "-c", "2"),
        ("worker", "-Q", "assemble,sign,notify", "-c", "1"),
        ("beat",),
        ("watch",),
    )

    def __init__(self, data_dir: Path, **extra_env: str) -> None:
        super().__init__(data_dir, **extra_env)
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, timeout: float = 120) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        motcua(["setup"], self.env)
        roles = [*self.ROLES, ("web", "--port", str(self.port))]
        with (self.data_dir.parent / "run.out").open("w") as out:
            for n, role in enumerate(roles):
                log = (self.data_dir / "log").joinpath(f"role-{n}-{role[0]}.log")
                with log.open("w") as fh:
                    self.procs.append(
                        subprocess.Popen(
                            [*MOTCUA, *role],
                            env=self.env,
                            stdout=fh,
                            stderr=subprocess.STDOUT,
                            text=True,
                        )
                    )
            out.write(f"started {len(roles)} roles\n")

        def up() -> bool:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as r:
                    return bool(r.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        poll(up, timeout=timeout, what="the web role to answer")

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM every role; return the worst exit code."""
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        for pid in processes_with_env("MOTCUA_DATA_DIR", str(self.data_dir)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.output = f"exit codes: {codes}"
        return max((abs(c) for c in codes), default=0)
