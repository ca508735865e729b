"""Automatic signing's checks of the organisation key: its passphrase file and certificate."""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from core.passphrase import PASSPHRASE_MAX_BYTES
from dossiers.models import DocumentState, Dossier, Office
from signing.devpki import IssuedKey
from signing.errors import KeyUnlockError
from signing.keys.certificates import fingerprint_sha256
from signing.keys.pkcs12 import load_pkcs12_signer, read_passphrase_file
from signing.models import AutoSignature, AutoSignPolicy, OrganisationKey, Signer
from tests.conftest import MakeAwaiting
from tests.support.autosign import events, run_again
from tests.support.pki import TEST_OFFICE, TEST_PASSPHRASE, issue_test_signer

read_org_passphrase = functools.partial(
    read_passphrase_file, service_only=True, label="khóa tổ chức"
)
"""The organisation key's passphrase, read as automatic signing reads it."""


# --- the passphrase file --------------------------------------------------------------------------


def test_a_group_readable_passphrase_file_is_refused_until_fixed(
    auto_office: AutoSignPolicy,
    passphrase_file: Path,
    dossier: Dossier,
    digitized: MakeAwaiting,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Mode 640: nothing approved, the Vietnamese reason on the document, one event, retried."""
    passphrase_file.chmod(0o640)
    document = digitized(dossier)

    assert document.state == DocumentState.AWAITING_APPROVAL
    assert "chmod 600" in document.reason and "-rw-r-----" in document.reason
    record = AutoSignature.objects.get(document=document)
    assert record.approved_at is None and record.attempts == 1
    assert record.retry_at is not None and record.retry_at > timezone.now() + dt.timedelta(
        minutes=50
    )
    outcome, document, record = run_again(document, django_capture_on_commit_callbacks)
    assert outcome == "failed" and record.attempts == 2
    assert len(events(document, "auto_sign_failed")) == 1  # one event per reason, not per try

    passphrase_file.chmod(0o600)
    outcome, document, record = run_again(document, django_capture_on_commit_callbacks)

    assert outcome == "signed"
    assert document.state in (DocumentState.PUBLISHED, DocumentState.DELIVERED)
    assert document.reason == "" and record.last_error == ""


def test_a_passphrase_file_of_another_user_is_refused(passphrase_file: Path) -> None:
    """A file the service's account does not own is not read, whatever its mode."""
    os.chown(passphrase_file, 65534, 65534)  # the suite runs as root
    with pytest.raises(KeyUnlockError, match="không thuộc tài khoản chạy dịch vụ"):
        read_org_passphrase(passphrase_file)
    os.chown(passphrase_file, os.geteuid(), os.getegid())
    assert read_org_passphrase(passphrase_file) == TEST_PASSPHRASE
    with pytest.raises(KeyUnlockError, match="Không mở được"):
        read_org_passphrase(passphrase_file.with_name("khong-co"))


def test_a_fifo_or_an_overlong_passphrase_file_is_refused(passphrase_file: Path) -> None:
    """A FIFO is refused without waiting for a writer; a file past 4096 bytes is not read."""
    fifo = passphrase_file.with_name("fifo")
    os.mkfifo(fifo, 0o600)
    with pytest.raises(KeyUnlockError, match="không phải tệp thường"):
        read_org_passphrase(fifo)
    passphrase_file.write_bytes(b"x" * (PASSPHRASE_MAX_BYTES + 1))
    with pytest.raises(KeyUnlockError, match="dài quá 4096 byte"):
        read_org_passphrase(passphrase_file)
    passphrase_file.write_bytes(b"x" * PASSPHRASE_MAX_BYTES)
    assert read_org_passphrase(passphrase_file) == b"x" * 4096


# --- the certificate ------------------------------------------------------------------------------


def test_an_expired_organisation_certificate_signs_nothing(
    auto_office: AutoSignPolicy,
    org_key: OrganisationKey,
    org_pki: IssuedKey,
    tmp_path: Path,
    dossier: Dossier,
    digitized: MakeAwaiting,
) -> None:
    """An expired certificate leaves the document awaiting approval with the reason."""
    now = dt.datetime.now(dt.UTC)
    expired = issue_test_signer(
        org_pki,
        tmp_path / "expired",
        name=TEST_OFFICE,
        not_before=now - dt.timedelta(days=60),
        not_after=now - dt.timedelta(days=1),
    )
    OrganisationKey.objects.filter(pk=org_key.pk).update(pkcs12_path=str(expired))
    document = digitized(dossier)
    assert document.state == DocumentState.AWAITING_APPROVAL
    assert "hết hạn" in document.reason
    assert AutoSignature.objects.get(document=document).approved_at is None
    assert not events(document, "approved")


@pytest.mark.parametrize("holder", ["another organisation", "the office's staff"])
def test_a_certificate_of_another_organisation_is_refused(
    holder: str,
    auto_office: AutoSignPolicy,
    org_key: OrganisationKey,
    org_pki: IssuedKey,
    other_pki: IssuedKey,
    tmp_path: Path,
    dossier: Dossier,
    digitized: MakeAwaiting,
) -> None:
    """Without a fingerprint the certificate's CN must name the office; its O is not enough."""
    if holder == "another organisation":
        key_file = other_pki.pkcs12
    else:  # O is the office, CN someone else
        key_file = issue_test_signer(org_pki, tmp_path / "staff", name="Bộ phận Một cửa")
    OrganisationKey.objects.filter(pk=org_key.pk).update(pkcs12_path=str(key_file))
    document = digitized(dossier)
    assert document.state == DocumentState.AWAITING_APPROVAL
    assert "không khớp" in document.reason


def test_the_admin_refuses_an_officials_key_as_the_organisation_key(
    office: Office,
    official: User,
    throwaway_pki: IssuedKey,
    passphrase_file: Path,
    tmp_path: Path,
) -> None:
    """An official's key file, or a fingerprint an official registered, is not the office's."""
    official_key = OrganisationKey(
        office=office,
        pkcs12_path=str(throwaway_pki.pkcs12),
        passphrase_file=str(passphrase_file),
    )
    with pytest.raises(ValidationError) as info:
        official_key.full_clean()
    assert "khóa cá nhân của người ký" in info.value.message_dict["pkcs12_path"][0]

    cert = load_pkcs12_signer(throwaway_pki.pkcs12, TEST_PASSPHRASE).signing_cert
    fingerprint = fingerprint_sha256(cert)
    Signer.objects.filter(user=official).update(cert_sha256=fingerprint)
    copy = tmp_path / "ban-sao.p12"
    copy.write_bytes(throwaway_pki.pkcs12.read_bytes())
    with pytest.raises(ValidationError) as info:
        OrganisationKey(
            office=office,
            pkcs12_path=str(copy),
            passphrase_file=str(passphrase_file),
            cert_sha256=fingerprint.upper(),
        ).full_clean()
    assert set(info.value.message_dict) == {"cert_sha256"}
    assert "chứng thư cá nhân" in info.value.message_dict["cert_sha256"][0]


def test_an_officials_key_slipped_past_the_admin_signs_nothing(
    auto_office: AutoSignPolicy,
    org_key: OrganisationKey,
    official: User,
    throwaway_pki: IssuedKey,
    tmp_path: Path,
    dossier: Dossier,
    digitized: MakeAwaiting,
) -> None:
    """At signing time too: an official's certificate, even with its fingerprint set, is refused."""
    cert = load_pkcs12_signer(throwaway_pki.pkcs12, TEST_PASSPHRASE).signing_cert
    copy = tmp_path / "ban-sao.p12"
    copy.write_bytes(throwaway_pki.pkcs12.read_bytes())
    OrganisationKey.objects.filter(pk=org_key.pk).update(
        pkcs12_path=str(copy), cert_sha256=fingerprint_sha256(cert)
    )
    document = digitized(dossier)

    assert document.state == DocumentState.AWAITING_APPROVAL
    assert "mang tên người ký" in document.reason
    assert AutoSignature.objects.get(document=document).approved_at is None
    assert not events(document, "approved")
