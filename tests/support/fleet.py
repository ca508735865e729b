"""The distributed roles on one machine, each its own process group, to kill and restart at will.

Shared by the scale-out tests (tests/e2e/test_scaleout.py) and bench/chaos_bench.py: a
fresh PostgreSQL database, a private Redis on its own port with its append-only file (or a
RabbitMQ virtual host), an SMTP server and an SMS gateway that record every send, dossiers
of one small page each signed automatically with the office's organisation key.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.processes import child_pids
from tests.support.messaging import FakeGateway, FakeSmtp
from tests.support.scans import corpus_paragraphs, write_scan
from tests.support.service import MOTCUA, free_port, motcua, poll, service_env

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new database on the machine's PostgreSQL, dropped after."""
    import psycopg

    name = f"motcua_fleet_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class PrivateRedis:
    """A redis-server of the test's own on a free port, append-only file on."""

    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.folder.mkdir(parents=True, exist_ok=True)
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always"]
        argv += ["--save", "", "--daemonize", "no"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        poll(up, timeout=20, every=0.1, what="the private Redis")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        """SIGKILL, then start again from the append-only file."""
        self.kill()
        self.start()

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A virtual host of its own on the machine's RabbitMQ (guest), deleted after."""
    vhost = f"motcua_{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)


DEFAULT_ROLES: dict[str, tuple[str, ...]] = {
    "worker-ocr": ("worker", "-Q", "ocr,default", "-c", "1"),
    "worker-rest": ("worker", "-Q", "assemble,sign,notify", "-c", "1"),
    "beat": ("beat",),
    "watch": ("watch",),
}


class Fleet:
    """Every role of the distributed deployment as its own process group."""

    def __init__(
        self, data_dir: Path, roles: dict[str, tuple[str, ...]] | None = None, **env: str
    ) -> None:
        self.data_dir = data_dir
        self.roles = dict(roles or DEFAULT_ROLES)
        self.smtp = FakeSmtp().start()
        self.sms = FakeGateway().start()
        defaults = {
            "MOTCUA_EMAIL_HOST": "127.0.0.1",
            "MOTCUA_EMAIL_PORT": str(self.smtp.port),
            "MOTCUA_EMAIL_TLS": "0",
            "MOTCUA_SMS_URL": self.sms.url,
            "MOTCUA_RECOVERY_EVERY_S": "3",
            "MOTCUA_LEASE_SWEEP_S": "2",
            "MOTCUA_LIMIT_RECEIVED_S": "20",
            # a worker left consuming nothing by a broker restart starts again in seconds
            "MOTCUA_WORKER_WATCH_S": "3",
            "OMP_THREAD_LIMIT": "1",
        }
        self.env = service_env(data_dir, **(defaults | env))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.comebacks: list[tuple[str, int | None]] = []
        """Roles that exited on their own and were started again: name and exit code."""
        self._held: set[str] = set()  # roles stopped on purpose, until started again
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._keeper = threading.Thread(target=self._keep_up, name="fleet-keeper", daemon=True)
        self._keeper.start()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        """Every role stopped; their logs printed first when the body failed."""
        if kind is not None:
            print(self.logs())
        self.stop()

    def setup(self, *, autosign: bool = True) -> None:
        """Migrate, prepare the demo office and its keys, and sign its papers automatically."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        motcua(["setup"], self.env)
        if autosign:
            code = (
                "from dossiers.models import Office; from signing.models import AutoSignPolicy; "
                "AutoSignPolicy.objects.get_or_create(office=Office.objects.get(code='xa-demo'))"
            )
            motcua(["manage", "shell", "-c", code], self.env)

    def start(self, name: str) -> None:
        with self._lock:
            self._held.discard(name)
            self._start(name)

    def _start(self, name: str, note: str = "") -> None:
        log = self.data_dir / "log" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            if note:
                out.write(f"--- fleet: {note}\n".encode())
            self.procs[name] = subprocess.Popen(
                [*MOTCUA, *self.roles[name]],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_all(self) -> None:
        for name in self.roles:
            self.start(name)

    def children(self, name: str) -> list[int]:
        """The pool processes of a worker role (the main process's children)."""
        return child_pids(self.procs[name].pid)

    def kill(self, name: str) -> None:
        """SIGKILL a whole role: its process group (a worker with its children); it stays
        down until :meth:`start`."""
        with self._lock:
            self._held.add(name)
            proc = self.procs[name]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def terminate(self, name: str, timeout: float) -> int | None:
        """SIGTERM a role's main process, as a supervisor stops it; its exit code, or None
        when it is still running after ``timeout`` seconds. It stays down until :meth:`start`."""
        with self._lock:
            self._held.add(name)
            proc = self.procs[name]
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def _keep_up(self) -> None:
        """Start again a role that exited on its own, as the deployment's orchestrator does
        (``restart: unless-stopped`` in docker/compose.yaml; the supervisor of ``motcua run``):
        Celery ends a worker on an error it cannot recover from, e.g. in its broker client."""
        while not self._closing.wait(0.5):
            with self._lock:
                for name, proc in list(self.procs.items()):
                    if name in self._held or proc.poll() is None:
                        continue
                    self.comebacks.append((name, proc.returncode))
                    self._start(name, f"{name} exited with code {proc.returncode}; started again")

    def restart(self, name: str) -> None:
        self.kill(name)
        self.start(name)

    def stop(self) -> None:
        self._closing.set()
        self._keeper.join()
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.smtp.stop()
        self.sms.stop()

    def logs(self) -> str:
        parts = []
        for f in sorted((self.data_dir / "log").glob("*.log")):
            parts.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-5000:])
        return "\n".join(parts)

    def drop(self, codes: list[str], *, seed: int = 1) -> None:
        """Register dossiers (email and phone) and drop one small page each into the inbox."""
        csv = self.data_dir.parent / f"ho-so-{codes[0]}.csv"
        rows = [
            f"{c},xa-demo,HT-KHAISINH,Lê Văn Cường,c{i}@example.vn,09123456{i % 100:02d},"
            for i, c in enumerate(codes)
        ]
        csv.write_text(
            "code,office,procedure,applicant_name,email,phone,received_at\n" + "\n".join(rows),
            encoding="utf-8",
        )
        motcua(["import-dossiers", str(csv), "--receipts", str(csv.with_suffix(""))], self.env)
        texts = corpus_paragraphs(len(codes), seed=seed, min_chars=160)
        staging = self.data_dir.parent / "staging"
        for code, text in zip(codes, texts, strict=True):
            folder = staging / code
            folder.mkdir(parents=True)
            write_scan(folder / "1.png", f"{code}\n{text}")  # each scan its own bytes
            folder.rename(self.data_dir / "inbox" / "xa-demo" / code)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.env["MOTCUA_DATABASE_URL"], autocommit=True) as conn:
            return list(conn.execute(sql, args).fetchall())

    def states(self) -> dict[str, str]:
        """Each document's state by its dossier's code."""
        rows = self.query(
            "select d.code, doc.state from dossiers_document doc "
            "join dossiers_dossier d on d.id = doc.dossier_id"
        )
        return {code: state for code, state in rows}

    def report(self) -> dict[str, int]:
        """Signed results, and email and SMS sends: accepted in all, and distinct."""
        emails = [m.message_id for m in self.smtp.accepted]
        sms = [r.key for r in self.sms.requests if r.accepted]
        signed = self.query("select count(*) from dossiers_event where kind = 'signed'")[0][0]
        return {
            "signed_events": int(signed),
            "emails": len(emails),
            "emails_distinct": len(set(emails)),
            "sms": len(sms),
            "sms_distinct": len(set(sms)),
        }
