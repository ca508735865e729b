"""Fixtures of the dossier tests: a fresh PostgreSQL database for the races on counters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

POSTGRES = "postgresql://postgres@127.0.0.1:5432"


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
