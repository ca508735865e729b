"""Automatic signing with the office's organisation key: which documents it signs, and how."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage

from dossiers.models import DocumentState, Dossier, Event, Office, Procedure
from signing.devpki import IssuedKey
from signing.keys.certificates import fingerprint_sha256
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.models import AutoSignature, AutoSignPolicy, BatchItem, OrganisationKey
from signing.verify.check import verify_pdf
from tests.conftest import MakeAwaiting
from tests.support.autosign import events
from tests.support.pki import TEST_OFFICE, TEST_PASSPHRASE, read_stamps

ACTOR = f"Khóa tổ chức: {TEST_OFFICE}"


# --- the policy decides ---------------------------------------------------------------------------


def test_a_policy_office_signs_and_publishes_without_an_official(
    auto_office: AutoSignPolicy,
    org_pki: IssuedKey,
    dossier: Dossier,
    digitized: MakeAwaiting,
    mailoutbox: list[EmailMessage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Digitized, approved by the service bound to its hash, signed, validated, published."""
    caplog.set_level(logging.DEBUG)
    document = digitized(dossier)

    assert document.state in (DocumentState.PUBLISHED, DocumentState.DELIVERED), document.reason
    assert not BatchItem.objects.filter(document=document).exists()
    signed = Path(document.signed_path).read_bytes()
    report = verify_pdf(signed, [org_pki.ca_cert])
    assert report.ok, report
    (view,) = read_stamps(signed)
    assert TEST_OFFICE in view.text
    record = AutoSignature.objects.get(document=document)
    cert = load_pkcs12_signer(org_pki.pkcs12, TEST_PASSPHRASE).signing_cert
    assert cert is not None
    assert record.approved_sha256 == document.pdf_sha256
    assert record.certificate_sha256 == fingerprint_sha256(cert)
    assert record.certificate_subject == TEST_OFFICE
    assert record.signed_sha256 == document.signed_sha256 and record.retry_at is None
    (approved,) = events(document, "approved")
    assert approved.actor == ACTOR
    assert approved.detail["sha256"] == document.pdf_sha256 and approved.detail["automatic"]
    (signed_event,) = events(document, "signed")
    assert signed_event.detail["approved_sha256"] == document.pdf_sha256
    assert events(document, "published")
    (email,) = mailoutbox
    assert email.attachments[0][1] == signed
    # the passphrase went nowhere: not the records, not the events, not the log
    secret = TEST_PASSPHRASE.decode()
    assert all(secret not in str(e.detail) for e in Event.objects.all())
    assert secret not in str(AutoSignature.objects.values().get(pk=record.pk))
    assert secret not in caplog.text


def test_a_procedure_row_overrides_the_office_row(
    auto_office: AutoSignPolicy,
    office: Office,
    procedure: Procedure,
    official: User,
    dossier: Dossier,
    digitized: MakeAwaiting,
) -> None:
    """A procedure kept for the officials goes to their batch even in an automatic office."""
    AutoSignPolicy.objects.create(office=office, procedure=procedure, enabled=False)
    assert not AutoSignPolicy.applies(office.pk, procedure.pk)
    document = digitized(dossier)

    assert document.state == DocumentState.AWAITING_APPROVAL
    assert BatchItem.objects.filter(document=document).exists()
    assert not AutoSignature.objects.filter(document=document).exists()

    AutoSignPolicy.objects.filter(procedure__isnull=True).delete()
    AutoSignPolicy.objects.filter(procedure=procedure).update(enabled=True)
    assert AutoSignPolicy.applies(office.pk, procedure.pk)


def test_without_an_active_key_the_officials_decide(
    auto_office: AutoSignPolicy,
    org_key: OrganisationKey,
    official: User,
    dossier: Dossier,
    digitized: MakeAwaiting,
) -> None:
    """A policy whose office key was switched off sends the document to the batch, said so."""
    OrganisationKey.objects.filter(pk=org_key.pk).update(active=False)
    document = digitized(dossier)
    assert document.state == DocumentState.AWAITING_APPROVAL
    assert BatchItem.objects.filter(document=document).exists()
    (event,) = events(document, "auto_sign_unavailable")
    assert "chưa có khóa ký của tổ chức" in event.detail["reason"]


def test_a_personal_layout_set_after_the_policy_goes_to_the_officials(
    auto_office: AutoSignPolicy,
    procedure: Procedure,
    official: User,
    dossier: Dossier,
    digitized: MakeAwaiting,
) -> None:
    """The procedure took the personal layout later: the batch, with the reason, no retries."""
    Procedure.objects.filter(pk=procedure.pk).update(stamp_layout="personal")
    document = digitized(dossier)

    assert document.state == DocumentState.AWAITING_APPROVAL
    assert BatchItem.objects.filter(document=document).exists()
    assert not AutoSignature.objects.filter(document=document).exists()
    (event,) = events(document, "auto_sign_unavailable")
    assert "mẫu chữ ký cá nhân" in event.detail["reason"]


def test_the_admin_refuses_a_policy_the_office_cannot_follow(
    office: Office, other_office: Office, procedure: Procedure
) -> None:
    """No key yet, a procedure of another office, a personal-signature procedure, bad paths."""
    with pytest.raises(ValidationError) as info:
        AutoSignPolicy(office=office).full_clean()
    assert "chưa có khóa ký của tổ chức" in info.value.message_dict["enabled"][0]
    with pytest.raises(ValidationError) as info:
        AutoSignPolicy(office=other_office, procedure=procedure, enabled=False).full_clean()
    assert "không thuộc cơ quan" in info.value.message_dict["procedure"][0]
    Procedure.objects.filter(pk=procedure.pk).update(stamp_layout="personal")
    procedure.refresh_from_db()
    with pytest.raises(ValidationError) as info:
        AutoSignPolicy(office=office, procedure=procedure).full_clean()
    assert "mẫu chữ ký cá nhân" in info.value.message_dict["procedure"][0]
    with pytest.raises(ValidationError) as info:
        OrganisationKey(office=office, pkcs12_path="khoa.p12", passphrase_file="mk").full_clean()
    assert set(info.value.message_dict) == {"pkcs12_path", "passphrase_file"}
