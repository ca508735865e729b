"""The official's decisions on a batch: rejecting with a reason, approving and signing, replays."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image, ImageDraw
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from dossiers.models import Document, DocumentState, Dossier, Event
from signing.devpki import IssuedKey
from signing.errors import ApprovalError
from signing.models import BatchItem, Signer
from signing.services.batch_run import approve_batch
from signing.services.decisions import approve_item
from signing.services.options import stamp_for
from signing.verify.check import verify_pdf
from tests.conftest import MakeAwaiting, MakeDossier, sign_in
from tests.support.pki import read_stamps
from tests.support.review import PUBLIC, approve_form, batch_of

pytestmark = pytest.mark.usefixtures("public_url")


def xobject_names(pdf: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        for ref in cast(ArrayObject, page.get("/Annots") or ArrayObject()):
            annot = cast(DictionaryObject, ref.get_object())
            if annot.get("/FT") == "/Sig" and "/AP" in annot:
                normal = cast(
                    DictionaryObject, cast(DictionaryObject, annot["/AP"])["/N"].get_object()
                )
                resources = cast(DictionaryObject, normal["/Resources"])
                return set(cast(DictionaryObject, resources.get("/XObject") or {}).keys())
    return set()


def test_rejection_with_a_reason_goes_back_to_the_clerk(
    client: Client,
    official: User,
    clerk: User,
    make_dossier: MakeDossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """A rejected item is REJECTED with the reason, listed for the clerk; the others wait."""
    rejected = make_awaiting(make_dossier().dossier)
    waiting = make_awaiting(make_dossier().dossier)
    batch = batch_of(rejected)
    sign_in(client, official)
    reason = "Ảnh trang 2 bị mờ, đề nghị quét lại."

    no_reason = client.post(
        f"/ky-duyet/{batch.pk}/", {"action": "reject", f"reject-{rejected.pk}": "1"}, follow=True
    )
    assert "Cần ghi lý do" in no_reason.content.decode()
    assert Document.objects.get(pk=rejected.pk).state == DocumentState.AWAITING_APPROVAL

    client.post(
        f"/ky-duyet/{batch.pk}/",
        {"action": "reject", f"reject-{rejected.pk}": "1", f"reason-{rejected.pk}": reason},
    )

    rejected.refresh_from_db()
    assert rejected.state == DocumentState.REJECTED and rejected.reason == reason
    item = BatchItem.objects.get(document=rejected)
    assert item.decision == BatchItem.Decision.REJECTED and item.decided_by == official
    assert Event.objects.filter(document=rejected, kind="rejected", actor="lanhdao").exists()
    assert Document.objects.get(pk=waiting.pk).state == DocumentState.AWAITING_APPROVAL
    assert BatchItem.objects.get(document=waiting).decision == BatchItem.Decision.PENDING
    sign_in(client, clerk)
    listing = client.get("/ky-duyet/tu-choi/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert rejected.dossier.code in text and reason in text
    assert waiting.dossier.code not in text
    sign_in(client, User.objects.create_user("khach"))
    assert client.get("/ky-duyet/tu-choi/").status_code == 403


def test_approval_signs_with_the_stamp_and_records_the_hash(
    client: Client,
    official: User,
    throwaway_pki: IssuedKey,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """Approving signs here, records who, when and the SHA-256, with a QR to the check page."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    sign_in(client, official)

    response = client.post(f"/ky-duyet/{batch.pk}/", approve_form(document), follow=True)

    assert "Đã ký 1 tài liệu" in response.content.decode()
    document.refresh_from_db()
    assert document.state == DocumentState.SIGNED
    item = BatchItem.objects.get(document=document)
    assert item.decision == BatchItem.Decision.APPROVED and item.decided_by == official
    assert item.approved_sha256 == document.pdf_sha256 and item.decided_at is not None
    assert item.signed_at is not None and item.signed_at >= item.decided_at
    signed = Path(document.signed_path).read_bytes()
    assert verify_pdf(signed, [throwaway_pki.ca_cert]).ok
    (stamp,) = read_stamps(signed)
    assert stamp.text.startswith("Ký bởi: Nguyễn Văn An\nCơ quan: UBND xã Thử Nghiệm")
    assert "/QR" in xobject_names(signed)
    approved = Event.objects.get(document=document, kind="approved")
    assert approved.actor == "lanhdao" and approved.detail["sha256"] == document.pdf_sha256


def test_a_replayed_approval_is_refused(
    client: Client, official: User, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """Posting the approval again, or approving an approved item, signs nothing more."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    sign_in(client, official)
    client.post(f"/ky-duyet/{batch.pk}/", approve_form(document))
    document.refresh_from_db()
    first_signature = document.signed_sha256
    assert first_signature

    replay = client.post(f"/ky-duyet/{batch.pk}/", approve_form(document), follow=True)

    assert "đã ký xong" in replay.content.decode()
    with pytest.raises(ApprovalError, match="không phê duyệt lại"):
        approve_item(BatchItem.objects.get(document=document), official)
    document.refresh_from_db()
    assert document.signed_sha256 == first_signature
    assert Event.objects.filter(document=document, kind="signed").count() == 1
    assert Event.objects.filter(document=document, kind="approved").count() == 1


def test_a_document_is_signed_only_through_its_approval_record(
    official: User, signing_key: Any, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """A document put in APPROVED by hand, without an approval record, is not signed."""
    document = make_awaiting(dossier)
    Document.objects.filter(pk=document.pk).update(state=DocumentState.APPROVED)

    results = approve_batch(batch_of(document), official, signing_key)

    assert [r.outcome for r in results] == ["skipped"]
    document.refresh_from_db()
    assert document.state == DocumentState.APPROVED and document.signed_path == ""
    assert BatchItem.objects.get(document=document).decision == BatchItem.Decision.PENDING


def test_a_document_added_after_the_page_was_shown_is_not_approved_unseen(
    client: Client, official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting
) -> None:
    """If a document joined the batch after the official looked, nothing is approved."""
    seen = make_awaiting(make_dossier().dossier)
    late = make_awaiting(make_dossier().dossier)
    sign_in(client, official)

    response = client.post(f"/ky-duyet/{batch_of(seen).pk}/", approve_form(seen), follow=True)

    assert "chưa xem" in response.content.decode()
    for document in (seen, late):
        assert Document.objects.get(pk=document.pk).state == DocumentState.AWAITING_APPROVAL


def test_signer_with_images_gets_the_personal_stamp(
    tmp_path: Path,
    client: Client,
    official: User,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """A signer with signature and seal images signs with both images and the QR code."""
    signature, seal = tmp_path / "chu-ky.png", tmp_path / "dau.png"
    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(5, 80), (150, 10), (295, 70)], fill=(0, 0, 160, 255), width=6)
    image.save(signature)
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse([5, 5, 195, 195], outline=(200, 0, 0, 255), width=8)
    image.save(seal)
    Signer.objects.filter(user=official).update(
        signature_image=str(signature), seal_image=str(seal)
    )
    document = make_awaiting(dossier)
    batch = batch_of(document)

    stamp = stamp_for(Signer.objects.get(user=official), batch)
    assert stamp.layout == "personal" and stamp.verify_url == f"{PUBLIC}/kiem-tra/"
    assert dossier.applicant_name not in stamp.verify_url and dossier.code not in stamp.verify_url

    sign_in(client, official)
    client.post(f"/ky-duyet/{batch.pk}/", approve_form(document))
    document.refresh_from_db()
    signed = Path(document.signed_path).read_bytes()
    assert {"/ImgSignature", "/ImgSeal", "/QR"} <= xobject_names(signed)
