"""A real delivery process killed with SIGKILL mid-send, against real servers on loopback.

The servers (aiosmtpd, the HTTP SMS stand-in) run in this test; delivery runs in child
processes on a database file of their own. The first child is killed while the SMTP
server holds a message it has accepted, before the child heard the 250 and recorded
the row as sent; the second while the gateway holds an SMS it accepted. A third run,
once the dead workers' leases lapsed, finishes. This is the window the outbox
documents as at least once (``publishing.services.delivery``): the message goes again
with the same Message-ID / Idempotency-Key, so each citizen ends with exactly one email
and one SMS after the receiving side dedupes by them, and none is ever lost.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from publishing.services.delivery import LEASE_S
from tests.support.messaging import FakeGateway, FakeSmtp
from tests.support.service import service_env

SEED = """
import json, sys
import django
django.setup()
from dossiers.files import store_bytes
from dossiers.models import Document, DocumentState, Office, Procedure
from dossiers.services.registry import register_dossier
from publishing.services.publication import publish
from django.conf import settings
office = Office.objects.create(code="xa-thu", name="UBND xã Thử Nghiệm")
procedure = Procedure.objects.create(
    office=office, code="HT-KHAISINH", name="Đăng ký khai sinh", limit_working_days=3
)
path, digest = store_bytes(b"%PDF-1.7\\n% ket qua\\n%%EOF\\n", settings.STORE_DIR)
ids = []
for n in range(int(sys.argv[1])):
    dossier = register_dossier(
        code=f"000.00.21.H26-261122-{n:04d}", office=office, procedure=procedure,
        applicant_name="Trần Thị Bình", email=f"congdan{n}@example.vn", phone=f"09{n:08d}",
    ).dossier
    document = Document.objects.create(
        dossier=dossier, state=DocumentState.SIGNED, source_sha256="0" * 64,
        signed_path=str(path), signed_sha256=digest,
    )
    assert publish(document.pk)
    ids.append(document.pk)
print(json.dumps(ids))
"""

DELIVER = """
import json, sys
from datetime import timedelta
import django
django.setup()
from django.utils import timezone
from publishing.services.delivery import deliver
now = timezone.now() + timedelta(seconds=float(sys.argv[1]))
outcomes = [deliver(int(i), now=now) for i in json.loads(sys.argv[2])]
print(json.dumps([[o.sent, o.delivered] for o in outcomes]))
"""


@dataclass
class HoldingSmtp(FakeSmtp):
    """An SMTP server that, on the first message, records it as accepted and then holds the
    250 until released (a real server has committed the message at that point)."""

    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if not self.holding.is_set():
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        return answer


@dataclass
class World:
    env: dict[str, str]
    database: Path
    smtp: HoldingSmtp
    gateway: FakeGateway
    documents: list[int]

    def deliver(self, offset_s: float) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", DELIVER, str(offset_s), json.dumps(self.documents)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def rows(self) -> list[tuple[str, str, int]]:
        with sqlite3.connect(self.database) as db:
            return list(db.execute("SELECT channel, state, attempts FROM publishing_outboxmessage"))

    def document_states(self) -> list[str]:
        with sqlite3.connect(self.database) as db:
            return [s for (s,) in db.execute("SELECT state FROM dossiers_document")]


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    smtp = HoldingSmtp()
    smtp.start()
    gateway = FakeGateway().start()
    data_dir = tmp_path / "data"
    env = service_env(
        data_dir,
        DJANGO_SETTINGS_MODULE="motcua.settings",
        MOTCUA_EMAIL_HOST="127.0.0.1",
        MOTCUA_EMAIL_PORT=str(smtp.port),
        MOTCUA_EMAIL_TLS="0",
        MOTCUA_EMAIL_TIMEOUT_S="20",
        MOTCUA_FROM_EMAIL="Một cửa <motcua@xa-thu.gov.vn>",
        MOTCUA_SMS_URL=gateway.url,
        MOTCUA_SMS_TOKEN="gateway-token",
        MOTCUA_SMS_TIMEOUT_S="20",
        MOTCUA_LOG_LEVEL="WARNING",
    )
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root
    migrate = [sys.executable, "-m", "motcua", "manage", "migrate", "--no-input"]
    subprocess.run(migrate, env=env, check=True, capture_output=True, timeout=300, cwd=root)
    seeded = subprocess.run(
        [sys.executable, "-c", SEED, "2"], env=env, capture_output=True, text=True, timeout=120
    )
    assert seeded.returncode == 0, seeded.stderr
    documents = json.loads(seeded.stdout.strip().splitlines()[-1])
    yield World(env, data_dir / "motcua.sqlite3", smtp, gateway, documents)
    smtp.release.set()
    if gateway.hold is not None:
        gateway.hold.set()
    smtp.stop()
    gateway.stop()


def _kill_when(event: threading.Event, process: subprocess.Popen[str]) -> None:
    """SIGKILL ``process`` once a server holds its message; it must not have ended first."""
    if not event.wait(60):
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"the server never held a message:\n{err}")
    assert process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)  # reaped, its pipes closed
    assert process.returncode == -signal.SIGKILL


def _finished(process: subprocess.Popen[str]) -> Any:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_a_worker_killed_mid_send_leaves_each_citizen_one_email_and_one_sms(
    world: World,
) -> None:
    smtp, gateway = world.smtp, world.gateway

    # 1. killed while the SMTP server holds the first email, accepted, its 250 unsent
    _kill_when(smtp.holding, world.deliver(0))
    smtp.release.set()
    assert len(smtp.accepted) == 1 and gateway.requests == []

    # 2. the recovery comes back at once: the dead worker's lease keeps the email; killed
    #    again while the gateway holds the first SMS it accepted
    gateway.hold = threading.Event()
    _kill_when(gateway.holding, world.deliver(0))
    gateway.hold.set()
    assert len(smtp.accepted) == 1 and len(gateway.requests) == 1
    assert {state for _, state, _ in world.rows()} == {"pending"}

    # 3. once the leases have lapsed, a third run finishes
    outcomes = _finished(world.deliver(LEASE_S + 1))
    assert [delivered for _, delivered in outcomes] == [True, True]

    # at least once: the two messages in the window went twice, with the same identity ...
    emails = Counter(m.message_id for m in smtp.accepted)
    sms = Counter(r.key for r in gateway.requests if r.accepted)
    assert sorted(emails.values()) == [1, 2] and sorted(sms.values()) == [1, 2]
    # ... so that, deduplicated by it, each citizen has exactly one email and one SMS
    per_citizen = Counter(
        to for m in {m.message_id: m for m in smtp.accepted}.values() for to in m.to
    )
    assert per_citizen == Counter({"congdan0@example.vn": 1, "congdan1@example.vn": 1})
    phones = Counter(r.phone for r in gateway.delivered.values())
    assert phones == Counter({"0900000000": 1, "0900000001": 1})
    # and nothing was lost or left behind
    assert sorted(world.rows()) == sorted(
        [("email", "sent", 1), ("email", "sent", 1), ("sms", "sent", 1), ("sms", "sent", 1)]
    )
    assert world.document_states() == ["DELIVERED", "DELIVERED"]
