"""Fixtures of the dossier tests: a fresh PostgreSQL database, and races on its counters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

POSTGRES = "postgresql://postgres@127.0.0.1:5432"

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the machine's server, dropped afterwards."""
    import psycopg

    name = f"motcua_codes_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_race(script: str, threads: int, database: str, data_dir: Path) -> dict[str, Any]:
    """Run the race ``script`` (beside this file) with ``threads`` threads in its own process
    against ``database``: the JSON report it prints last, after checking it exited cleanly."""
    env = {
        **os.environ,
        "MOTCUA_DATABASE_URL": database,
        "MOTCUA_DATA_DIR": str(data_dir),
        "MOTCUA_SECRET_KEY": "khoa-bi-mat-cho-kiem-thu-" + uuid.uuid4().hex,
    }
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name(script)), str(threads)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report
