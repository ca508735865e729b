"""Tests of preparing a data directory: folders, roles and the first-run development data."""

from __future__ import annotations

import functools
import stat
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from dossiers.models import Office, Role
from dossiers.services.access import roles_of
from motcua.firstrun import DEMO_OFFICE, DEMO_PROCEDURES, prepare
from signing.keys.certificates import common_name
from signing.keys.pkcs12 import load_pkcs12_signer, read_passphrase_file
from signing.models import AutoSignPolicy, OrganisationKey, Signer
from tests.conftest import DataDirs

read_org_passphrase = functools.partial(
    read_passphrase_file, service_only=True, label="khóa tổ chức"
)
"""The organisation key's passphrase, read as automatic signing reads it."""


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.django_db
def test_first_run_makes_a_working_demo_office(
    data_dirs: DataDirs, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty database gets folders, a demo office, accounts and a usable dev signing key."""
    prepare(announce=True)

    for name in ("inbox", "intake", "work", "store", "failed", "outbox", "run", "log", "static"):
        assert (data_dirs.root / name).is_dir(), name
    office = Office.objects.get(code=DEMO_OFFICE[0])
    assert sorted(office.procedures.values_list("code", flat=True)) == sorted(
        code for code, _, _ in DEMO_PROCEDURES
    )
    assert (data_dirs.inbox / office.code).is_dir()

    dev = data_dirs.pki / "dev"
    assert "CHỈ DÙNG THỬ" in capsys.readouterr().out
    passphrase_file = dev / "DEV-ONLY-signer-passphrase.txt"
    accounts_file = dev / "DEV-ONLY-accounts.txt"
    assert private(passphrase_file) and private(accounts_file)
    accounts = dict(
        line.split("\t")
        for line in accounts_file.read_text(encoding="utf-8").splitlines()
        if "\t" in line
    )
    assert set(accounts) == {"quantri", "vanthu", "lanhdao", "thutruong"}
    for username, password in accounts.items():
        assert User.objects.get(username=username).check_password(password), username
    assert User.objects.get(username="quantri").is_superuser
    roles = {
        username: roles_of(User.objects.get(username=username), office)
        for username in ("vanthu", "lanhdao", "thutruong")
    }
    assert roles == {
        "vanthu": {Role.CLERK},
        "lanhdao": {Role.OFFICIAL},
        "thutruong": {Role.HEAD},
    }
    official = User.objects.get(username="lanhdao")
    layouts = dict(office.procedures.values_list("code", "stamp_layout"))
    assert layouts["CT-BANSAO"] == "certified_copy"
    assert layouts["HT-KHAISINH"] == ""  # by the signer: personal with an image, else text

    signer = Signer.objects.get(user=official, office=office)
    key = load_pkcs12_signer(Path(signer.pkcs12_path), read_passphrase_file(passphrase_file))
    assert key.signing_cert is not None

    org_key = OrganisationKey.objects.get(office=office, active=True)
    org_passphrase = read_org_passphrase(Path(org_key.passphrase_file))
    org_cert = load_pkcs12_signer(Path(org_key.pkcs12_path), org_passphrase).signing_cert
    assert org_cert is not None and common_name(org_cert) == office.name
    assert not AutoSignPolicy.objects.exists()  # automatic signing waits for an administrator
    trust = data_dirs.trust / "dev-ca.pem"
    assert trust.read_bytes() == (dev / "ca.pem").read_bytes()


@pytest.mark.django_db
def test_second_run_changes_nothing(
    data_dirs: DataDirs, capsys: pytest.CaptureFixture[str]
) -> None:
    """Preparing again keeps the office, the accounts and the key as they were."""
    prepare()
    dev = data_dirs.pki / "dev"
    before = {p: p.read_bytes() for p in dev.rglob("*") if p.is_file()}
    users = set(User.objects.values_list("username", "password"))

    prepare(announce=True)

    assert Office.objects.count() == 1
    assert {p: p.read_bytes() for p in dev.rglob("*") if p.is_file()} == before
    assert set(User.objects.values_list("username", "password")) == users
    assert capsys.readouterr().out == ""


@pytest.mark.django_db
def test_existing_offices_get_their_inbox_and_no_demo(data_dirs: DataDirs) -> None:
    """A database that already has offices gets no demo data, only inbox folders."""
    Office.objects.create(code="phuong-1", name="UBND phường 1")
    prepare()
    assert not Office.objects.filter(code=DEMO_OFFICE[0]).exists()
    assert not (data_dirs.pki / "dev").exists()
    assert (data_dirs.inbox / "phuong-1").is_dir()
