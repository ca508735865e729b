"""Fixtures of the dossier tests: a fresh PostgreSQL database, and two offices' rows for the admin.

Races on the database's counters use the first; the admin pages' tests the second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models import Model

from dossiers.models import (
    CalendarDay,
    Document,
    DocumentState,
    Dossier,
    Event,
    Membership,
    Office,
    Procedure,
    Role,
)
from dossiers.services.registry import register_dossier
from publishing.models import OutboxMessage, Rating, SmsTemplate
from signing.models import (
    AutoSignature,
    AutoSignPolicy,
    Batch,
    BatchItem,
    OfficeSigningPolicy,
    OrganisationKey,
    Signer,
)
from tests.conftest import DataDirs
from watch_folders.models import Intake

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


@dataclass
class World:
    """Two offices' worth of every admin row: ``a`` (with a commune below it) and ``b``."""

    a: Office
    a_child: Office
    b: Office
    rows: dict[type[Model], dict[str, Model]] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)


def _office_rows(world: World, key: str, office: Office, data_dirs: DataDirs) -> None:
    n = len(world.rows.get(Procedure, {})) + 1
    procedure = Procedure.objects.create(
        office=office, code=f"P-{key}", name=f"Thủ tục {key}", limit_working_days=3
    )
    registered = register_dossier(
        code=f"000.00.21.H26-261122-{n:04d}",
        office=office,
        procedure=procedure,
        applicant_name=f"Người nộp {key}",
        email=f"{key}@example.vn",
        phone="0912345678",
    )
    dossier = registered.dossier
    document = Document.objects.create(
        dossier=dossier,
        state=DocumentState.AWAITING_APPROVAL,
        source_dir=str(data_dirs.intake / key),
        source_sha256="0" * 64,
        page_count=2,
    )
    member = User.objects.create_user(f"canbo-{key}")
    Membership.objects.create(user=member, office=office, role=Role.CLERK)
    official = User.objects.create_user(f"lanhdao-{key}")
    Membership.objects.create(user=official, office=office, role=Role.OFFICIAL)
    signer = Signer.objects.create(
        user=official,
        office=office,
        display_name=f"Lãnh đạo {key}",
        pkcs12_path=f"/srv/keys/{key}.p12",
    )
    batch = Batch.objects.create(office=office, signer=signer, procedure=procedure)
    BatchItem.objects.create(batch=batch, document=document)
    organisation_key = OrganisationKey.objects.create(
        office=office, pkcs12_path=f"/srv/org/{key}.p12", passphrase_file=f"/srv/org/{key}.pass"
    )
    second = Document.objects.create(
        dossier=dossier, state=DocumentState.APPROVED, source_dir="", source_sha256="1" * 64
    )
    rows: dict[type[Model], Model] = {
        Office: office,
        Procedure: procedure,
        Dossier: dossier,
        Document: document,
        Event: Event.objects.filter(dossier=dossier).first() or Event(),
        User: member,
        Signer: signer,
        Batch: batch,
        OrganisationKey: organisation_key,
        OfficeSigningPolicy: OfficeSigningPolicy.objects.create(office=office),
        AutoSignPolicy: AutoSignPolicy.objects.create(office=office, enabled=False),
        AutoSignature: AutoSignature.objects.create(
            document=second, organisation_key=organisation_key
        ),
        OutboxMessage: OutboxMessage.objects.create(
            document=document, channel="email", recipient=f"{key}@example.vn"
        ),
        Rating: Rating.objects.create(dossier=dossier, score="satisfied"),
        Intake: Intake.objects.create(
            office_code=office.code,
            dossier_code=dossier.code,
            folder_name=f"thu-muc-{key}",
            path=str(data_dirs.intake / key),
            sha256="2" * 64,
            outcome=Intake.Outcome.ACCEPTED,
        ),
    }
    for model, row in rows.items():
        world.rows.setdefault(model, {})[key] = row


@pytest.fixture()
def world(office: Office, other_office: Office, data_dirs: DataDirs) -> World:
    """Every admin row for office A, a commune below it and office B, a working-day note, an
    SMS template, a superuser (``root``) and office A's administrator (``admin_a``)."""
    child = Office.objects.create(code="thon-con", name="Thôn Con", parent=office)
    built = World(a=office, a_child=child, b=other_office)
    for key, place in (("a", office), ("a-child", child), ("b", other_office)):
        _office_rows(built, key, place, data_dirs)
    CalendarDay.objects.create(day=date(2026, 12, 31), note="Nghỉ bù")
    SmsTemplate.objects.create(purpose="result_ready", text="{office}: HS {code} xong {link}")
    built.users["root"] = User.objects.create_superuser("quantri", password=None)
    admin_a = User.objects.create_user("quantri-xa", is_staff=True)
    Membership.objects.create(user=admin_a, office=office, role=Role.ADMIN)
    built.users["admin_a"] = admin_a
    return built
