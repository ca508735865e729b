"""What the trail records by itself: sign-ins, admin changes, decisions, signatures, downloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from pyhanko.sign.signers import SimpleSigner
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from audit.models import Action, AuditEntry
from audit.services.trail import verify_trail
from dossiers.models import Dossier, Office, Procedure
from dossiers.services.registry import register_dossier
from signing.models import AutoSignPolicy, Batch, BatchItem, OrganisationKey
from signing.services.autosign import sign_automatically
from signing.services.batch_run import approve_batch
from signing.services.decisions import record_decisions
from tests.conftest import MakeAwaiting, MakeDossier, sign_in
from tests.support.pki import TEST_OFFICE, TEST_PASSPHRASE, make_test_pki

pytestmark = pytest.mark.usefixtures("data_dirs")  # the web pages need their folders

PASSWORD = "Mat-khau-rat-rieng-2026"


def _entries(action: Action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def _everything() -> str:
    """Every stored entry as text, to look for what must never be there."""
    return json.dumps(list(AuditEntry.objects.values()), default=str, ensure_ascii=False)


def _batch_of(document_id: int) -> Batch:
    return BatchItem.objects.get(document_id=document_id).batch


def test_a_sign_in_is_recorded_with_the_address(db: None) -> None:
    user = User.objects.create_user("vanthu2", password=PASSWORD)
    client = Client(REMOTE_ADDR="203.0.113.7")
    response = client.post("/dang-nhap/", {"username": "vanthu2", "password": PASSWORD})
    assert response.status_code == 302
    [entry] = _entries(Action.SIGNED_IN)
    assert (entry.username, entry.user_id, entry.client_address) == (
        "vanthu2",
        user.pk,
        "203.0.113.7",
    )
    assert PASSWORD not in _everything()


def test_a_failed_sign_in_records_the_name_tried_never_the_password(db: None) -> None:
    User.objects.create_user("lanhdao2", password=PASSWORD)
    client = Client(REMOTE_ADDR="198.51.100.4")
    wrong = "doan-thu-mat-khau-" + PASSWORD
    client.post("/dang-nhap/", {"username": "lanhdao2", "password": wrong})
    client.post("/dang-nhap/", {"username": "khong-ton-tai", "password": wrong})
    failed = _entries(Action.SIGN_IN_FAILED)
    assert [(e.username, e.user_id, e.client_address) for e in failed] == [
        ("lanhdao2", None, "198.51.100.4"),
        ("khong-ton-tai", None, "198.51.100.4"),
    ]
    assert _entries(Action.SIGNED_IN) == []
    text = _everything()
    assert wrong not in text and PASSWORD not in text


def test_the_address_behind_a_trusted_proxy_is_recorded(db: None, settings: Settings) -> None:
    settings.TRUSTED_PROXIES = 1
    User.objects.create_user("vanthu3", password=PASSWORD)
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.55, 203.0.113.20")
    client.post("/dang-nhap/", {"username": "vanthu3", "password": PASSWORD})
    [entry] = _entries(Action.SIGNED_IN)
    assert entry.client_address == "203.0.113.20"


def test_changes_in_the_admin_are_recorded_with_who_what_and_which_fields(db: None) -> None:
    admin = User.objects.create_superuser("quantri", password=PASSWORD)
    client = Client(REMOTE_ADDR="192.0.2.10")
    sign_in(client, admin)
    response = client.post("/quan-tri/auth/group/add/", {"name": "Văn thư"})
    assert response.status_code == 302, response.content[:500]
    group = Group.objects.get(name="Văn thư")
    client.post(f"/quan-tri/auth/group/{group.pk}/change/", {"name": "Văn thư xã"})
    other = Group.objects.create(name="Tạm")
    response = client.post(
        "/quan-tri/auth/group/",
        {"action": "delete_selected", "_selected_action": [group.pk, other.pk], "post": "yes"},
    )
    assert response.status_code == 302
    changes = _entries(Action.CONFIG_CHANGED)
    assert [(e.detail["admin"], e.detail["model"], e.username) for e in changes] == [
        ("added", "auth.group", "quantri"),
        ("changed", "auth.group", "quantri"),
        ("deleted", "auth.group", "quantri"),
        ("deleted", "auth.group", "quantri"),
    ]
    assert len(changes[1].detail["fields"]) == 1  # the one field changed, by its label
    assert {e.client_address for e in changes} == {"192.0.2.10"}
    assert {changes[2].detail["id"], changes[3].detail["id"]} == {str(group.pk), str(other.pk)}
    assert verify_trail().broken is None


def test_the_audit_admin_shows_entries_and_changes_nothing(db: None) -> None:
    admin = User.objects.create_superuser("quantri")
    client = Client()
    sign_in(client, admin)  # signing in is the first entry
    response = client.get("/quan-tri/audit/auditentry/")
    assert response.status_code == 200
    assert "nhật ký kiểm toán".lower() in response.content.decode().lower()
    recorded = AuditEntry.objects.latest("seq")
    page = client.get(f"/quan-tri/audit/auditentry/{recorded.pk}/change/")
    assert page.status_code == 200 and recorded.hash in page.content.decode()
    assert client.get("/quan-tri/audit/auditentry/add/").status_code == 403
    assert client.post(f"/quan-tri/audit/auditentry/{recorded.pk}/delete/").status_code == 403
    assert AuditEntry.objects.filter(pk=recorded.pk).exists()


def test_an_approval_and_its_signature_are_recorded_with_the_document_hashes(
    official: User,
    signing_key: SimpleSigner,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    document = make_awaiting(dossier)
    approved_sha256 = document.pdf_sha256
    approve_batch(_batch_of(document.pk), official, signing_key)
    document.refresh_from_db()
    [approval] = _entries(Action.APPROVED)
    [signature] = _entries(Action.SIGNED)
    for entry in (approval, signature):
        assert (entry.username, entry.user_id) == ("lanhdao", official.pk)
        assert (entry.object_type, entry.object_id) == ("dossiers.document", str(document.pk))
        assert entry.office_id == dossier.office_id
    assert approval.sha256 == approved_sha256
    assert signature.sha256 == document.signed_sha256 != approved_sha256
    assert signature.detail["approved_sha256"] == approved_sha256
    assert signature.seq > approval.seq
    assert verify_trail().broken is None


def test_a_rejection_is_recorded_without_its_reason(
    official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting
) -> None:
    document = make_awaiting(make_dossier().dossier)
    reason = "Sai số định danh 001099012345 của người khai."
    record_decisions(
        _batch_of(document.pk), official, rejections={document.pk: reason}, approve_rest=False
    )
    [rejection] = _entries(Action.REJECTED)
    assert rejection.sha256 == document.pdf_sha256 and rejection.object_id == str(document.pk)
    assert "001099012345" not in _everything()


def test_opening_a_document_records_a_download_and_its_preview_a_view(
    official: User, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    document = make_awaiting(dossier)
    client = Client(REMOTE_ADDR="192.0.2.33")
    sign_in(client, official)
    response = client.get(f"/ky-duyet/tai-lieu/{document.pk}.pdf")
    assert response.status_code == 200
    b"".join(response.streaming_content)  # type: ignore[attr-defined]
    [download] = _entries(Action.DOWNLOADED)
    assert (download.username, download.client_address) == ("lanhdao", "192.0.2.33")
    assert download.sha256 == document.pdf_sha256 and download.office_id == dossier.office_id
    preview = client.get(f"/ky-duyet/tai-lieu/{document.pk}/xem-truoc.png")
    assert preview.status_code == 200
    b"".join(preview.streaming_content)  # type: ignore[attr-defined]
    [view] = _entries(Action.VIEWED)
    assert view.sha256 == document.pdf_sha256 and view.object_id == str(document.pk)


def test_a_document_of_another_office_is_neither_served_nor_recorded(
    official: User, other_office: Office, make_awaiting: MakeAwaiting
) -> None:
    procedure = Procedure.objects.create(
        office=other_office, code="HT-KHAC", name="Khác", limit_working_days=3
    )
    foreign = register_dossier(
        code="000.00.21.H26-261122-9999",
        office=other_office,
        procedure=procedure,
        applicant_name="Lê Văn C",
        email="c@example.vn",
        phone="",
    ).dossier
    document = make_awaiting(foreign)
    client = Client()
    sign_in(client, official)
    assert client.get(f"/ky-duyet/tai-lieu/{document.pk}.pdf").status_code == 404
    assert _entries(Action.DOWNLOADED) == []


def test_automatic_signing_is_recorded_under_the_organisation_key(
    office: Office,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    tmp_path: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Where the office signs automatically, the service's approval and signature are entries."""
    pki = make_test_pki(tmp_path / "org-pki", name=TEST_OFFICE)
    passphrase = tmp_path / "to-chuc.pass"
    passphrase.write_bytes(TEST_PASSPHRASE + b"\n")
    passphrase.chmod(0o600)
    OrganisationKey.objects.create(
        office=office, pkcs12_path=str(pki.pkcs12), passphrase_file=str(passphrase)
    )
    AutoSignPolicy.objects.create(office=office)
    with django_capture_on_commit_callbacks(execute=False):  # the task: called below instead
        document = make_awaiting(dossier)
    assert sign_automatically(document.pk) == "signed"
    document.refresh_from_db()
    [approval] = _entries(Action.APPROVED)
    [signature] = _entries(Action.SIGNED)
    assert approval.username == signature.username == f"Khóa tổ chức: {TEST_OFFICE}"
    assert approval.sha256 == document.pdf_sha256 and signature.sha256 == document.signed_sha256
    assert signature.detail == {"automatic": True, "approved_sha256": document.pdf_sha256}
    assert approval.office_id == signature.office_id == office.pk
    assert TEST_PASSPHRASE.decode() not in _everything()
