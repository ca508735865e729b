"""Concurrent writers on PostgreSQL: every append gets the next seq and links to the one before."""

from __future__ import annotations

import itertools
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.service import motcua, poll, service_env

WRITERS = 6
EACH = 40
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

WRITER = """
import os, sys, time
import django
django.setup()
from django.db import connection
from audit.models import Action
from audit.services.record import record
name = sys.argv[1]
connection.ensure_connection()
gate = os.environ["AUDIT_TEST_GATE"]
open(os.path.join(gate, "ready-" + name), "w").close()
while not os.path.exists(os.path.join(gate, "go")):
    time.sleep(0.01)
for n in range(int(sys.argv[2])):
    record(
        Action.VIEWED,
        username=name,
        office=7,
        sha256=f"{n:064x}",
        detail={"n": n, "người": "Trần Thị Bình", "tỉ lệ": 0.1, "lồng": {"a": [1, "b"]}},
    )
"""


@pytest.fixture
def postgres_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database on the machine's server, with auth and audit migrated."""
    import psycopg

    name = f"motcua_audit_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = service_env(
        tmp_path / "var",
        MOTCUA_DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{name}",
        DJANGO_SETTINGS_MODULE="motcua.settings",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    try:
        motcua(["manage", "migrate", "auth", "-v", "0"], env)
        motcua(["manage", "migrate", "audit", "-v", "0"], env)
        yield env
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.distributed
def test_concurrent_writers_keep_one_unbroken_chain(
    postgres_env: dict[str, str], tmp_path: Path
) -> None:
    """Processes appending at once (racing to create the head row too) leave one chain."""
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {**postgres_env, "AUDIT_TEST_GATE": str(gate)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"w{i}", str(EACH)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    poll(
        lambda: (
            len(list(gate.glob("ready-*"))) == WRITERS or any(w.poll() is not None for w in writers)
        ),
        timeout=120,
        every=0.05,
        what="the writers to connect",
    )
    (gate / "go").touch()
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err

    done = motcua(["audit", "verify"], postgres_env)
    assert f"nguyên vẹn: {WRITERS * EACH} mục" in done.stdout

    import psycopg

    with psycopg.connect(postgres_env["MOTCUA_DATABASE_URL"]) as conn:
        rows = conn.execute("SELECT seq, username FROM audit_auditentry ORDER BY seq").fetchall()
        assert [seq for seq, _ in rows] == list(range(1, WRITERS * EACH + 1))
        names = [name for _, name in rows]
        assert {n: names.count(n) for n in set(names)} == {f"w{i}": EACH for i in range(WRITERS)}
        # the writers really ran at once: their entries interleave
        assert sum(a != b for a, b in itertools.pairwise(names)) > WRITERS

        conn.execute("UPDATE audit_auditentry SET office_id = 8 WHERE seq = 100")
        conn.commit()
    broken = motcua(["audit", "verify"], postgres_env, check=False)
    assert broken.returncode == 3
    assert "bị phá vỡ tại mục #100 (" in broken.stderr
