"""Two offices with their people, dossiers and refused scans, for the back-office tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from dossiers.models import Document, Dossier, Membership, Office, Procedure, Role
from dossiers.services.registry import register_dossier
from dossiers.services.workflow import fail_document
from tests.conftest import DataDirs, sign_in
from watch_folders.models import Intake
from watch_folders.services.claim import claim_folder

SCANS = {"trang-1.png": b"\x89PNG trang mot", "trang-2.png": b"\x89PNG trang hai"}


def drop(inbox: Path, office_code: str, folder_name: str, files: dict[str, bytes]) -> Path:
    """Put a folder of scans into ``inbox/<office>/<folder>/`` as a clerk would."""
    folder = inbox / office_code / folder_name
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def signed_in(user: User) -> Client:
    """A new client signed in as ``user``, with a proven second factor where the role needs
    one (``tests.conftest.sign_in``)."""
    client = Client()
    sign_in(client, user)
    return client


@dataclass(frozen=True)
class Side:
    """One office and what belongs to it."""

    office: Office
    procedure: Procedure
    dossier: Dossier
    refused: Intake
    failed: Document
    marker: str
    """A string that appears only in this office's data (its applicant's name)."""


def _side(data_dirs: DataDirs, code: str, name: str, letter: str, applicant: str) -> Side:
    office = Office.objects.create(code=code, name=name)
    procedure = Procedure.objects.create(
        office=office, code=f"KS-{letter}", name=f"Khai sinh {letter}", limit_working_days=3
    )
    now = timezone.now()
    dossier = register_dossier(
        code=f"HS-{letter}-0001",
        office=office,
        procedure=procedure,
        applicant_name=applicant,
        email=f"{letter.lower()}@example.vn",
        phone="0912345678",
        received_at=now - timedelta(days=10),
    ).dossier
    claim_folder(drop(data_dirs.inbox, code, f"CHUA-CO-{letter}", SCANS), code)
    refused = Intake.objects.get(office_code=code, folder_name=f"CHUA-CO-{letter}")
    accepted = claim_folder(
        drop(data_dirs.inbox, code, dossier.code, {"p.png": f"quet {letter}".encode()}), code
    )
    assert accepted.document_id is not None
    assert fail_document(accepted.document_id, f"Trang 1 quá mờ ({letter}).")
    failed = Document.objects.get(pk=accepted.document_id)
    return Side(office, procedure, dossier, refused, failed, marker=applicant)


@pytest.fixture()
def side_a(db: None, data_dirs: DataDirs) -> Side:
    return _side(data_dirs, "xa-a", "UBND xã A", "A", "Nguyễn Văn Đức")


@pytest.fixture()
def side_b(db: None, data_dirs: DataDirs) -> Side:
    return _side(data_dirs, "xa-b", "UBND xã B", "B", "Lê Thị Bảo Mật")


MakeUser = Callable[..., User]


@pytest.fixture()
def make_user(db: None) -> MakeUser:
    """A user holding ``roles`` in ``office`` (none: a signed-in stranger)."""

    def make(username: str, office: Office | None = None, *roles: Role) -> User:
        user = User.objects.create_user(username)
        for role in roles:
            assert office is not None
            Membership.objects.create(user=user, office=office, role=role)
        return user

    return make
