"""Automatic signing's failures and retries: the recovery, lost messages, hand-over, the admin."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from dossiers.models import DocumentState, Dossier, Office
from dossiers.services.leases import QUEUED_GRACE_S
from signing import tasks
from signing.devpki import IssuedKey
from signing.engine import run as engine
from signing.models import (
    RUN_STALE_AFTER,
    AutoSignature,
    AutoSignPolicy,
    BatchItem,
    OfficeSigningPolicy,
)
from signing.pades.sign import TSA_DOWN_VI
from signing.services import autosign
from signing.services.autosign import sign_automatically
from signing.services.autosign_plan import hand_over
from signing.services.batch_run import approve_batch
from signing.tasks import recover_signing
from signing.verify.check import verify_pdf
from tests.conftest import DataDirs, MakeAwaiting, MakeDossier, sign_in
from tests.support.autosign import events, run_again
from tests.support.testpki_services import PkiServices

# --- the timestamp authority, the recovery, concurrent attempts -----------------------------------


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
    # sent again within the grace every stage gives a message, not minutes later
    assert record.retry_at <= timezone.now() + dt.timedelta(seconds=QUEUED_GRACE_S)
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


# --- a changed file, the officials, the admin -----------------------------------------------------


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
