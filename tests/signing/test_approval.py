"""Tests of batches and approvals: signing bound to the approved hash, rejections, rights."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from pyhanko.sign.signers import SimpleSigner

from dossiers.files import sha256_file
from dossiers.models import Document, DocumentState, Dossier, Event, Membership, Office, Role
from signing.devpki import IssuedKey
from signing.errors import ApprovalError, SignatureOutputError
from signing.models import Batch, BatchItem, Signer
from signing.pades.sign import sign_pdf
from signing.services.batch_run import Progress, approve_batch
from signing.verify.check import verify_pdf
from tests.conftest import MakeAwaiting, MakeDossier, sign_in
from tests.support.pki import TEST_PASSPHRASE


def batch_of(document: Document) -> Batch:
    return BatchItem.objects.select_related("batch__office").get(document=document).batch


def test_awaiting_documents_gather_in_one_open_batch_per_office(
    official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting
) -> None:
    """Each document awaiting approval joins its office's open batch, with the office's signer."""
    first = make_awaiting(make_dossier().dossier)
    second = make_awaiting(make_dossier().dossier)
    batch = batch_of(first)
    assert batch_of(second) == batch
    assert batch.state == Batch.State.OPEN
    assert batch.signer == Signer.objects.get(user=official)


def test_a_full_batch_starts_a_new_one(
    official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting
) -> None:
    """Past the batch size, the next document opens a new batch."""
    with mock.patch("signing.services.batches.BATCH_SIZE", 2):
        docs = [make_awaiting(make_dossier().dossier) for _ in range(3)]
    assert batch_of(docs[0]) == batch_of(docs[1]) != batch_of(docs[2])


def test_approval_signs_the_document_bound_to_its_hash(
    official: User,
    signing_key: SimpleSigner,
    throwaway_pki: IssuedKey,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """Approving signs the PDF, stores it, and records the approved hash and who decided."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    steps: list[Progress] = []

    results = approve_batch(batch, official, signing_key, progress=steps.append)

    assert [r.outcome for r in results] == ["signed"]
    assert steps == results
    document.refresh_from_db()
    assert document.state == DocumentState.SIGNED
    signed = Path(document.signed_path)
    assert signed.is_file() and sha256_file(signed) == document.signed_sha256
    item = BatchItem.objects.get(document=document)
    assert item.decision == BatchItem.Decision.APPROVED
    assert item.approved_sha256 == document.pdf_sha256
    assert item.decided_by == official and item.signed_at is not None
    batch.refresh_from_db()
    assert batch.state == Batch.State.DONE and batch.closed_at is not None
    report = verify_pdf(signed.read_bytes(), [throwaway_pki.ca_cert])
    assert report.ok, report
    kinds = list(
        Event.objects.filter(document=document, actor="lanhdao").values_list("kind", flat=True)
    )
    assert kinds == ["approved", "signed"]
    with pytest.raises(ApprovalError, match="đã ký xong"):
        approve_batch(batch, official, signing_key)


def test_file_changed_after_approval_is_not_signed(
    official: User, signing_key: SimpleSigner, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """A PDF altered between approval and signing is refused, and nothing gets signed."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    with (
        mock.patch("signing.engine.jobs.sign_pdf", side_effect=SignatureOutputError("hết chỗ")),
        pytest.raises(ApprovalError),
    ):
        approve_batch(batch, official, signing_key)
    document.refresh_from_db()
    assert document.state == DocumentState.APPROVED
    pdf = Path(document.pdf_path)
    pdf.write_bytes(pdf.read_bytes() + b"\n% sua sau khi duyet\n")

    with pytest.raises(ApprovalError) as info:
        approve_batch(batch, official, signing_key)

    assert "đã thay đổi sau khi phê duyệt" in info.value.message_vi
    document.refresh_from_db()
    assert document.state == DocumentState.APPROVED
    assert document.signed_path == "" and document.signed_sha256 == ""
    assert BatchItem.objects.get(document=document).signed_at is None


def test_file_changed_before_approval_is_not_signed(
    official: User, signing_key: SimpleSigner, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """A PDF that no longer matches the digitized hash is refused at signing time."""
    document = make_awaiting(dossier)
    Path(document.pdf_path).write_bytes(b"%PDF-1.7 something else entirely")
    with pytest.raises(ApprovalError, match="đã thay đổi"):
        approve_batch(batch_of(document), official, signing_key)
    document.refresh_from_db()
    assert document.state != DocumentState.SIGNED and document.signed_path == ""


def test_rerun_after_an_interruption_never_signs_twice(
    official: User,
    signing_key: SimpleSigner,
    make_dossier: MakeDossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """A batch interrupted after its first signature signs only the rest when run again."""
    first = make_awaiting(make_dossier().dossier)
    second = make_awaiting(make_dossier().dossier)
    batch = batch_of(first)
    calls: list[int] = []

    def sign_once_then_fail(data: bytes, key: Any, options: Any) -> bytes:
        calls.append(1)
        if len(calls) > 1:
            raise SignatureOutputError("máy dừng giữa chừng")
        return sign_pdf(data, key, options)

    with (
        mock.patch("signing.engine.jobs.sign_pdf", side_effect=sign_once_then_fail),
        pytest.raises(ApprovalError),
    ):
        approve_batch(batch, official, signing_key)
    first.refresh_from_db()
    assert first.state == DocumentState.SIGNED
    first_signature = first.signed_sha256
    batch.refresh_from_db()
    assert batch.state == Batch.State.SIGNING

    with mock.patch("signing.engine.jobs.sign_pdf", wraps=sign_pdf) as spy:
        results = approve_batch(batch, official, signing_key)

    assert spy.call_count == 1
    outcomes = {r.document_id: r.outcome for r in results}
    assert outcomes[second.pk] == "signed"
    assert outcomes[first.pk] != "signed"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.signed_sha256 == first_signature
    assert second.state == DocumentState.SIGNED
    assert Event.objects.filter(kind="signed").count() == 2


def test_rejection_sends_the_document_back_with_its_reason(
    official: User,
    signing_key: SimpleSigner,
    make_dossier: MakeDossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """A rejected document is REJECTED with the official's reason; the others are signed."""
    rejected = make_awaiting(make_dossier().dossier)
    approved = make_awaiting(make_dossier().dossier)
    reason = "Sai năm sinh của người được khai sinh."

    results = approve_batch(
        batch_of(rejected), official, signing_key, rejections={rejected.pk: reason}
    )

    assert {r.document_id: r.outcome for r in results} == {
        rejected.pk: "rejected",
        approved.pk: "signed",
    }
    rejected.refresh_from_db()
    assert rejected.state == DocumentState.REJECTED
    assert rejected.reason == reason and rejected.signed_path == ""
    item = BatchItem.objects.get(document=rejected)
    assert item.decision == BatchItem.Decision.REJECTED and item.reason == reason
    assert item.decided_by == official and item.signed_at is None
    assert Event.objects.filter(document=rejected, kind="rejected", actor="lanhdao").exists()


def test_user_without_a_signer_role_for_the_office_is_refused(
    official: User,
    other_office: Office,
    signing_key: SimpleSigner,
    throwaway_pki: IssuedKey,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """Someone who signs for another office only cannot approve this office's batch."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    stranger = User.objects.create_user("canbo-khac")
    Signer.objects.create(
        user=stranger,
        office=other_office,
        display_name="Người Khác",
        pkcs12_path=str(throwaway_pki.pkcs12),
    )

    with pytest.raises(ApprovalError) as info:
        approve_batch(batch, stranger, signing_key)

    assert "canbo-khac" in info.value.message_vi
    assert dossier.office.name in info.value.message_vi
    batch.refresh_from_db()
    document.refresh_from_db()
    assert batch.state == Batch.State.OPEN
    assert document.state == DocumentState.AWAITING_APPROVAL


def test_a_signer_whose_official_role_was_withdrawn_is_refused(
    official: User,
    office: Office,
    signing_key: SimpleSigner,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """The key stays configured but the administrator took the role away: no approval."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    Membership.objects.filter(user=official, office=office, role=Role.OFFICIAL).delete()

    with pytest.raises(ApprovalError) as info:
        approve_batch(batch, official, signing_key)

    assert "không có quyền ký" in info.value.message_vi
    document.refresh_from_db()
    assert document.state == DocumentState.AWAITING_APPROVAL


def test_an_inactive_signer_is_refused(
    official: User, signing_key: SimpleSigner, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """A signer role switched off no longer allows approving."""
    document = make_awaiting(dossier)
    Signer.objects.filter(user=official).update(active=False)
    with pytest.raises(ApprovalError):
        approve_batch(batch_of(document), official, signing_key)


# --- the back-office pages and the ``approve`` command ------------------------------------


def test_signing_page_signs_with_the_typed_passphrase(
    client: Client, official: User, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """The official reviews the batch, types the passphrase, and the batch is signed."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    sign_in(client, official)
    page = client.get(f"/ky-duyet/{batch.pk}/")
    assert page.status_code == 200
    assert dossier.code in page.content.decode()

    response = client.post(
        f"/ky-duyet/{batch.pk}/", {"passphrase": TEST_PASSPHRASE.decode()}, follow=True
    )

    assert response.status_code == 200
    assert "Đã ký 1 tài liệu" in response.content.decode()
    document.refresh_from_db()
    assert document.state == DocumentState.SIGNED
    assert TEST_PASSPHRASE.decode() not in response.content.decode()


def test_signing_page_with_a_wrong_passphrase_signs_nothing(
    client: Client, official: User, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """A wrong passphrase shows an error and leaves the batch untouched."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    sign_in(client, official)
    client.post(f"/ky-duyet/{batch.pk}/", {"passphrase": "sai-mat-khau"})
    document.refresh_from_db()
    batch.refresh_from_db()
    assert document.state == DocumentState.AWAITING_APPROVAL
    assert batch.state == Batch.State.OPEN


def test_signing_pages_are_closed_to_others(
    client: Client, official: User, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """Anonymous users go to the login page; a user of no office gets 403 and no PDF; an
    official of another office finds neither the batch nor the PDF (404)."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    anonymous = client.get(f"/ky-duyet/{batch.pk}/")
    assert anonymous.status_code == 302 and "/dang-nhap/" in anonymous["Location"]
    sign_in(client, User.objects.create_user("khach"))
    assert client.get(f"/ky-duyet/{batch.pk}/").status_code == 403
    assert client.get(f"/ky-duyet/tai-lieu/{document.pk}.pdf").status_code == 403
    elsewhere = Office.objects.create(code="xa-khac", name="UBND xã Khác")
    stranger = User.objects.create_user("lanhdao-xa-khac")
    Membership.objects.create(user=stranger, office=elsewhere, role=Role.OFFICIAL)
    sign_in(client, stranger)
    assert client.get(f"/ky-duyet/{batch.pk}/").status_code == 404
    assert client.get(f"/ky-duyet/tai-lieu/{document.pk}.pdf").status_code == 404
    sign_in(client, official)
    pdf = client.get(f"/ky-duyet/tai-lieu/{document.pk}.pdf")
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content) == Path(document.pdf_path).read_bytes()  # type: ignore[attr-defined]


def test_approve_command_signs_with_a_passphrase_file(
    tmp_path: Path,
    official: User,
    make_dossier: MakeDossier,
    make_awaiting: MakeAwaiting,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``motcua approve`` signs the batch as its signer and reports the counts."""
    kept = make_awaiting(make_dossier().dossier)
    refused = make_awaiting(make_dossier().dossier)
    secret = tmp_path / "pass.txt"
    secret.write_bytes(TEST_PASSPHRASE + b"\n")
    call_command(
        "approve",
        str(batch_of(kept).pk),
        "--passphrase-file",
        str(secret),
        "--reject",
        f"{refused.pk}:Thiếu ảnh trang 2",
    )
    out = capsys.readouterr().out
    assert "đã ký 1, từ chối 1, tổng 2" in out
    assert Document.objects.get(pk=kept.pk).state == DocumentState.SIGNED
    assert Document.objects.get(pk=refused.pk).reason == "Thiếu ảnh trang 2"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999"], "Không có lô ký #999"),
        (["{batch}", "--user", "khong-ai"], "Không có tài khoản khong-ai"),
        (["{batch}", "--reject", "abc"], "DOC_ID:LÝ_DO"),
    ],
)
def test_approve_command_refuses_bad_arguments(
    official: User,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    args: list[str],
    message: str,
) -> None:
    """Bad batch ids, users or rejections stop the command with a Vietnamese message."""
    batch = batch_of(make_awaiting(dossier))
    with pytest.raises(CommandError, match=message):
        call_command("approve", *[a.format(batch=batch.pk) for a in args])
    assert Document.objects.get(dossier=dossier).state == DocumentState.AWAITING_APPROVAL


@pytest.mark.parametrize("role", [Role.CLERK, Role.HEAD, Role.ADMIN, Role.OFFICIAL])
def test_approve_command_signs_only_as_the_offices_official(
    tmp_path: Path,
    official: User,
    other_office: Office,
    throwaway_pki: IssuedKey,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    role: Role,
) -> None:
    """``motcua approve --user``: a clerk, head or administrator of the office, or an official
    of another office (with a key of their own there), is refused; nothing is signed."""
    document = make_awaiting(dossier)
    person = User.objects.create_user(f"nguoi-{role.value}")
    office = other_office if role == Role.OFFICIAL else dossier.office
    Membership.objects.create(user=person, office=office, role=role)
    Signer.objects.create(
        user=person, office=office, display_name="Người Khác", pkcs12_path=str(throwaway_pki.pkcs12)
    )
    secret = tmp_path / "pass.txt"
    secret.write_bytes(TEST_PASSPHRASE + b"\n")
    batch = batch_of(document)
    with pytest.raises(CommandError, match="không có quyền ký"):
        call_command(
            "approve", str(batch.pk), "--user", person.username, "--passphrase-file", str(secret)
        )
    assert Document.objects.get(pk=document.pk).state == DocumentState.AWAITING_APPROVAL
