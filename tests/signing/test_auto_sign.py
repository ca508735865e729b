"""Automatic signing with the office's organisation key: policy, key checks, failures, retries."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from core.passphrase import PASSPHRASE_MAX_BYTES
from dossiers.models import Document, DocumentState, Dossier, Event, Office, Procedure
from signing import tasks
from signing.devpki import IssuedKey
from signing.engine import run as engine
from signing.errors import KeyUnlockError
from signing.keys.certificates import fingerprint_sha256
from signing.keys.pkcs12 import load_pkcs12_signer, read_passphrase_file
from signing.models import (
    RUN_STALE_AFTER,
    AutoSignature,
    AutoSignPolicy,
    BatchItem,
    OfficeSigningPolicy,
    OrganisationKey,
    Signer,
)
from signing.pades.sign import TSA_DOWN_VI
from signing.services import autosign
from signing.services.autosign import sign_automatically
from signing.services.autosign_plan import hand_over
from signing.services.batch_run import approve_batch
from signing.tasks import recover_signing
from signing.verify.check import verify_pdf
from tests.conftest import DataDirs, MakeAwaiting, MakeDossier, sign_in
from tests.support.pki import (
    TEST_OFFICE,
    TEST_PASSPHRASE,
    issue_test_signer,
    make_test_pki,
    read_stamps,
)
from tests.support.testpki_services import PkiServices, running_pki_services

ACTOR = f"Khóa tổ chức: {TEST_OFFICE}"


read_org_passphrase = functools.partial(
    read_passphrase_file, service_only=True, label="khóa tổ chức"
)
"""The organisation key's passphrase, read as automatic signing reads it."""


@pytest.fixture(scope="module")
def org_pki(tmp_path_factory: pytest.TempPathFactory) -> IssuedKey:
    """The office's organisation certificate: its common name is the office's name."""
    return make_test_pki(tmp_path_factory.mktemp("org-pki"), name=TEST_OFFICE)


@pytest.fixture()
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "to-chuc.pass"
    path.parent.mkdir()
    path.write_bytes(TEST_PASSPHRASE + b"\n")
    path.chmod(0o600)
    return path


@pytest.fixture()
def org_key(office: Office, org_pki: IssuedKey, passphrase_file: Path) -> OrganisationKey:
    key = OrganisationKey(
        office=office, pkcs12_path=str(org_pki.pkcs12), passphrase_file=str(passphrase_file)
    )
    key.full_clean()
    key.save()
    return key


@pytest.fixture()
def auto_office(org_key: OrganisationKey, office: Office) -> AutoSignPolicy:
    """The office's inbox signs automatically, every procedure."""
    policy = AutoSignPolicy(office=office)
    policy.full_clean()
    policy.save()
    return policy


@pytest.fixture()
def digitized(
    data_dirs: DataDirs,
    eager_celery: None,
    make_awaiting: MakeAwaiting,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> MakeAwaiting:
    """Finish digitizing a document and run what its commit starts (the Celery tasks, eager)."""

    def make(dossier: Dossier) -> Document:
        with django_capture_on_commit_callbacks(execute=True):
            document = make_awaiting(dossier)
        document.refresh_from_db()
        return document

    return make


def events(document: Document, kind: str) -> list[Event]:
    return list(Event.objects.filter(document=document, kind=kind).order_by("pk"))


def run_again(
    document: Document, capture: DjangoCaptureOnCommitCallbacks
) -> tuple[str, Document, AutoSignature]:
    """Attempt the document's automatic signing now, as its stage's recovery would."""
    with capture(execute=True):
        outcome = sign_automatically(document.pk)
    document.refresh_from_db()
    return outcome, document, AutoSignature.objects.get(document=document)


# --- the policy decides ------------------------------------------------------------------------


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


# --- the timestamp authority, the recovery, a changed file, the officials -----------------------


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PkiServices]:
    with running_pki_services(tmp_path_factory.mktemp("pki-services")) as running:
        yield running


def test_a_tsa_outage_waits_approved_and_the_recovery_signs_it_later(
    services: PkiServices,
    auto_office: AutoSignPolicy,
    org_pki: IssuedKey,
    office: Office,
    dossier: Dossier,
    digitized: MakeAwaiting,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """At B-T with the TSA down the level is not lowered: approved, retried in a minute, signed."""
    OfficeSigningPolicy.objects.create(office=office, level="B-T", tsa_url=services.tsa_url)
    with services.outage("tsa"):
        document = digitized(dossier)

    assert document.state == DocumentState.APPROVED and document.signed_path == ""
    assert TSA_DOWN_VI in document.reason
    record = AutoSignature.objects.get(document=document)
    assert record.approved_sha256 == document.pdf_sha256
    assert record.retry_at is not None
    assert record.retry_at <= timezone.now() + dt.timedelta(minutes=1)
    assert recover_signing().get("AUTO_SIGN") is None  # not due yet

    AutoSignature.objects.filter(pk=record.pk).update(retry_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        counts = recover_signing()

    assert counts["AUTO_SIGN"] == 1
    document.refresh_from_db()
    assert document.state in (DocumentState.PUBLISHED, DocumentState.DELIVERED)
    report = verify_pdf(Path(document.signed_path).read_bytes(), [org_pki.ca_cert])
    (sig,) = report.signatures
    assert report.ok and sig.pades_level == "B-T" and sig.timestamp_time is not None
    assert len(events(document, "approved")) == 1


def test_a_lost_message_is_sent_again_and_nothing_is_signed_twice(
    auto_office: AutoSignPolicy,
    data_dirs: DataDirs,
    eager_celery: None,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A planned document whose task never ran is put in line by the recovery, signed once."""
    with django_capture_on_commit_callbacks(execute=False) as dropped:
        document = make_awaiting(dossier)
    assert len(dropped) == 1  # the message that gets lost
    record = AutoSignature.objects.get(document=document)
    assert record.retry_at is not None and record.retry_at > timezone.now()
    assert recover_signing().get("AUTO_SIGN") is None

    AutoSignature.objects.filter(pk=record.pk).update(retry_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        recover_signing()
    AutoSignature.objects.filter(pk=record.pk).update(running_since=timezone.now())

    assert sign_automatically(document.pk) == "skipped"  # signed already
    document.refresh_from_db()
    assert document.state in (DocumentState.PUBLISHED, DocumentState.DELIVERED)
    assert len(events(document, "signed")) == 1


def test_a_run_in_progress_is_not_doubled(
    auto_office: AutoSignPolicy,
    data_dirs: DataDirs,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """While another worker signs the document, a second message does nothing."""
    with django_capture_on_commit_callbacks(execute=False):
        document = make_awaiting(dossier)
    AutoSignature.objects.filter(document=document).update(running_since=timezone.now())
    assert sign_automatically(document.pk) == "busy"
    AutoSignature.objects.filter(document=document).update(
        running_since=timezone.now() - dt.timedelta(hours=1)  # its worker died
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert sign_automatically(document.pk) == "signed"


def test_a_file_changed_after_digitizing_is_refused_and_handed_to_the_officials(
    auto_office: AutoSignPolicy,
    official: User,
    signing_key: object,
    throwaway_pki: IssuedKey,
    data_dirs: DataDirs,
    make_dossier: MakeDossier,
    make_awaiting: MakeAwaiting,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A changed file is not signed nor retried; handed over, an official approves and signs it."""
    with django_capture_on_commit_callbacks(execute=False):
        document = make_awaiting(make_dossier().dossier)
    path = Path(document.pdf_path)
    original = path.read_bytes()
    path.write_bytes(original + b"\n% sua doi\n")
    outcome, document, record = run_again(document, django_capture_on_commit_callbacks)

    assert outcome == "failed" and document.state == DocumentState.AWAITING_APPROVAL
    assert "không còn là tệp đã số hóa" in document.reason
    assert record.retry_at is None  # a person decides

    path.write_bytes(original)
    assert hand_over(record, "quantri")
    assert not hand_over(record, "quantri")  # once
    item = BatchItem.objects.select_related("batch").get(document=document)
    assert sign_automatically(document.pk) == "skipped"
    approve_batch(item.batch, official, signing_key)

    document.refresh_from_db()
    assert document.state == DocumentState.SIGNED
    assert verify_pdf(Path(document.signed_path).read_bytes(), [throwaway_pki.ca_cert]).ok
    assert events(document, "auto_sign_handed_over")[0].actor == "quantri"


def test_the_admin_lists_failures_and_hands_them_over(
    client: Client,
    auto_office: AutoSignPolicy,
    passphrase_file: Path,
    official: User,
    data_dirs: DataDirs,
    dossier: Dossier,
    digitized: MakeAwaiting,
) -> None:
    """The automatic signatures page shows the reason; its action hands the document over."""
    passphrase_file.chmod(0o644)
    document = digitized(dossier)
    sign_in(client, User.objects.create_superuser("quantri-test", "qt@example.vn", "x"))
    url = reverse("admin:signing_autosignature_changelist")

    listing = client.get(url).content.decode()
    assert "chmod 600" in listing

    record = AutoSignature.objects.get(document=document)
    response = client.post(
        url, {"action": "give_to_officials", "_selected_action": [str(record.pk)]}, follow=True
    )
    assert "Đã chuyển 1 tài liệu" in response.content.decode()
    assert BatchItem.objects.filter(document=document).exists()


# --- review fixes: a stale attempt, an official's key, the passphrase file, layout, admin --------


def test_a_stale_attempt_taken_over_neither_clears_the_new_claim_nor_publishes(
    auto_office: AutoSignPolicy,
    data_dirs: DataDirs,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow attempt A is taken over by B after the stale limit: A keeps nothing, B signs once."""
    with django_capture_on_commit_callbacks(execute=False):
        document = make_awaiting(dossier)
    record = AutoSignature.objects.get(document=document)
    real_sign_batch, real_now = engine.sign_batch, timezone.now
    claims: list[dt.datetime] = []

    def slow_sign_batch(*args: Any, **kwargs: Any) -> Any:
        result = real_sign_batch(*args, **kwargs)
        if not claims:  # A is still signing when its claim goes stale: B takes it over
            later = real_now() + RUN_STALE_AFTER + dt.timedelta(minutes=1)
            monkeypatch.setattr(timezone, "now", lambda: later)
            claim = autosign._claim(record)
            assert claim is not None
            claims.append(claim)
        return result

    def store_files() -> set[Path]:
        return {p for p in data_dirs.store.rglob("*") if p.is_file()}

    monkeypatch.setattr(autosign, "sign_batch", slow_sign_batch)
    before = store_files()
    with django_capture_on_commit_callbacks(execute=False):
        assert sign_automatically(document.pk) == "busy"  # A lost to B

    record.refresh_from_db()
    (b_claim,) = claims
    assert record.running_since == b_claim  # A's finally left B's claim alone
    assert record.signed_at is None and record.attempts == 2
    document.refresh_from_db()
    assert document.state == DocumentState.APPROVED and document.signed_path == ""
    assert store_files() == before  # nothing of A's in the store
    assert not list((data_dirs.work / "signing").glob("auto-*"))
    assert sign_automatically(document.pk) == "busy"  # B's claim is live
    record.refresh_from_db()
    assert not hand_over(record, "quantri")  # nor is it handed over while B signs

    with django_capture_on_commit_callbacks(execute=False):
        assert autosign._attempt(record, b_claim) == "signed"
    autosign._release(record, b_claim)

    record.refresh_from_db()
    document.refresh_from_db()
    assert record.running_since is None and record.signed_at is not None
    assert document.state == DocumentState.SIGNED
    assert store_files() - before == {Path(document.signed_path)}  # one signed file
    assert len(events(document, "signed")) == 1
    assert not list((data_dirs.work / "signing").glob("auto-*"))


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


def test_the_admin_retries_only_the_selected_records(
    client: Client,
    auto_office: AutoSignPolicy,
    passphrase_file: Path,
    dossier: Dossier,
    make_dossier: MakeDossier,
    digitized: MakeAwaiting,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two documents due again, one selected: only that one is put in line, and said so."""
    passphrase_file.chmod(0o644)
    first, second = digitized(dossier), digitized(make_dossier().dossier)
    AutoSignature.objects.update(retry_at=timezone.now() - dt.timedelta(minutes=1))
    sent: list[int] = []
    monkeypatch.setattr(tasks.auto_sign_document, "delay", sent.append)
    sign_in(client, User.objects.create_superuser("quantri-test", "qt@example.vn", "x"))

    record = AutoSignature.objects.get(document=first)
    response = client.post(
        reverse("admin:signing_autosignature_changelist"),
        {"action": "retry_now", "_selected_action": [str(record.pk)]},
        follow=True,
    )

    assert sent == [first.pk]
    assert "Đã đưa 1/1 tài liệu" in response.content.decode()
    other = AutoSignature.objects.get(document=second)
    assert other.retry_at is not None and other.retry_at < timezone.now()  # still due, untouched
