"""Tests of the official's batch review on the web: rights, previews, decisions, progress."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from pathlib import Path
from typing import Any, cast
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from PIL import Image, ImageDraw
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject
from pytest_django import Settings

from dossiers.models import Document, DocumentState, Dossier, Event, Procedure
from dossiers.services.registry import register_dossier
from signing.devpki import IssuedKey
from signing.errors import ApprovalError
from signing.models import Batch, BatchItem, Signer
from signing.pades.sign import sign_pdf
from signing.services import batches as batching
from signing.services.batch_run import approve_batch
from signing.services.decisions import approve_item
from signing.services.options import stamp_for
from signing.verify.check import verify_pdf
from tests.conftest import DataDirs, MakeAwaiting, MakeDossier, sign_in
from tests.support.pki import TEST_PASSPHRASE, read_stamps

PUBLIC = "https://motcua.example.vn"


@pytest.fixture(autouse=True)
def public_url(settings: Settings) -> None:
    settings.PUBLIC_BASE_URL = PUBLIC


def batch_of(document: Document) -> Batch:
    return BatchItem.objects.select_related("batch__office").get(document=document).batch


def approve_form(*documents: Document, **extra: str) -> dict[str, str]:
    return {
        "passphrase": TEST_PASSPHRASE.decode(),
        "shown": ",".join(str(d.pk) for d in documents),
        "action": "sign",
        **extra,
    }


def wait_for_signing_thread(batch: Batch, timeout: float = 60) -> None:
    """Join the background signing thread of ``batch`` if it is still running."""
    for thread in threading.enumerate():
        if thread.name == f"ky-lo-{batch.pk}":
            thread.join(timeout)
            assert not thread.is_alive(), "signing thread did not finish"


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


# --- batches ---------------------------------------------------------------------------------


def test_batches_are_per_procedure_and_close_when_old(
    official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting, procedure: Procedure
) -> None:
    """Documents of another procedure open their own batch; an old batch takes no more."""
    first = make_awaiting(make_dossier().dossier)
    other_procedure = Procedure.objects.create(
        office=procedure.office, code="CT-BANSAO", name="Chứng thực bản sao", limit_working_days=1
    )
    other_dossier = register_dossier(
        code="000.00.21.H26-261122-9001",
        office=procedure.office,
        procedure=other_procedure,
        applicant_name="Lê Văn Cường",
        email="",
        phone="",
        received_at=None,
    ).dossier
    other = make_awaiting(other_dossier)

    assert batch_of(other) != batch_of(first)
    assert batch_of(other).procedure == other_procedure
    assert batch_of(first).procedure == procedure
    assert batch_of(first).signer == Signer.objects.get(user=official)
    Batch.objects.filter(pk=batch_of(first).pk).update(
        created_at=timezone.now() - batching.BATCH_MAX_AGE - dt.timedelta(minutes=1)
    )
    late = make_awaiting(make_dossier().dossier)
    assert batch_of(late) != batch_of(first)
    assert batch_of(late).procedure == procedure
    still_open = make_awaiting(make_dossier().dossier)
    assert batch_of(still_open) == batch_of(late)


# --- rights ----------------------------------------------------------------------------------


def test_a_user_without_the_signer_role_is_refused(
    client: Client, official: User, clerk: User, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """A clerk of the office and a stranger get 403 on the batch, its progress and its
    approval; the stranger also on the preview; and nothing changes."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    for user in (clerk, User.objects.create_user("khach")):
        sign_in(client, user)
        assert client.get(f"/ky-duyet/{batch.pk}/").status_code == 403
        assert client.get(f"/ky-duyet/{batch.pk}/tien-do.json").status_code == 403
        post = client.post(f"/ky-duyet/{batch.pk}/", approve_form(document))
        assert post.status_code == 403
    assert client.get(f"/ky-duyet/tai-lieu/{document.pk}/xem-truoc.png").status_code == 403
    document.refresh_from_db()
    assert document.state == DocumentState.AWAITING_APPROVAL
    assert BatchItem.objects.get(document=document).decision == BatchItem.Decision.PENDING


# --- review page -----------------------------------------------------------------------------


def test_review_page_shows_metadata_and_flags_low_ocr_confidence(
    client: Client, official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting
) -> None:
    """Each item shows code, procedure, applicant, dates, a preview and a low-confidence flag."""
    clear = make_awaiting(make_dossier().dossier)
    blurry = make_awaiting(make_dossier().dossier)
    Document.objects.filter(pk=clear.pk).update(mean_confidence=96.5)
    Document.objects.filter(pk=blurry.pk).update(mean_confidence=batching.LOW_CONFIDENCE - 17.5)
    sign_in(client, official)

    page = client.get(f"/ky-duyet/{batch_of(clear).pk}/").content.decode()

    dossier = blurry.dossier
    assert dossier.code in page and clear.dossier.code in page
    assert dossier.procedure.name in page and dossier.applicant_name in page
    local = timezone.localtime(dossier.due_at)
    assert local.strftime("%d/%m/%Y") in page
    assert f"/ky-duyet/tai-lieu/{blurry.pk}/xem-truoc.png" in page
    assert "96,5" in page or "96.5" in page
    assert page.count("⚠") == 1


def test_preview_is_a_png_of_the_first_page_kept_in_the_data_dir(
    client: Client,
    official: User,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    data_dirs: DataDirs,
) -> None:
    """The preview endpoint answers a small PNG of page 1 and keeps it for the next request."""
    document = make_awaiting(dossier)
    sign_in(client, official)

    response = client.get(f"/ky-duyet/tai-lieu/{document.pk}/xem-truoc.png")

    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    with Image.open(io.BytesIO(data)) as image:
        # A4 at 50 dpi
        assert abs(image.width - round(595.28 * 50 / 72)) <= 2
        assert abs(image.height - round(841.89 * 50 / 72)) <= 2
    cached = data_dirs.root / "cache" / "xem-truoc" / f"{document.pdf_sha256}.png"
    assert cached.read_bytes() == data
    with mock.patch("signing.views.subprocess.run") as run:
        again = client.get(f"/ky-duyet/tai-lieu/{document.pk}/xem-truoc.png")
        assert b"".join(again.streaming_content) == data  # type: ignore[attr-defined]
    run.assert_not_called()


# --- decisions -------------------------------------------------------------------------------


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


# --- signing in the background with live progress ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_signing_runs_in_the_background_with_live_progress(
    client: Client, official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting
) -> None:
    """The POST returns while signing goes on; the progress endpoint follows it to the end."""
    documents = [make_awaiting(make_dossier().dossier) for _ in range(2)]
    batch = batch_of(documents[0])
    sign_in(client, official)
    reached, gate = threading.Event(), threading.Event()
    calls: list[int] = []

    def sign_slowly(data: bytes, key: Any, options: Any) -> bytes:
        calls.append(1)
        if len(calls) == 2:
            reached.set()
            assert gate.wait(30)
        return sign_pdf(data, key, options)

    def progress() -> dict[str, Any]:
        response = client.get(f"/ky-duyet/{batch.pk}/tien-do.json")
        assert response.status_code == 200
        return cast(dict[str, Any], json.loads(response.content))

    with (
        mock.patch("signing.engine.jobs.sign_pdf", side_effect=sign_slowly),
        mock.patch("publishing.services.publication.enqueue") as publish,
    ):
        started = client.post(f"/ky-duyet/{batch.pk}/", approve_form(*documents))
        try:
            assert started.status_code == 302
            # the thread now waits inside its second signature, away from the database
            assert reached.wait(30)
            middle = progress()
            assert middle["state"] == Batch.State.SIGNING
            assert middle["run"] == {"running": True, "done": 1, "total": 2, "percent": 50}
            assert middle["items"]["signed"] == 1 and middle["items"]["approved"] == 1
            page = client.get(f"/ky-duyet/{batch.pk}/").content.decode()
            assert "Đang ký" in page
            assert 'id="tien-do"' in page and "<progress" in page
            busy = client.post(f"/ky-duyet/{batch.pk}/", approve_form(), follow=True)
            assert "đang được ký" in busy.content.decode()
        finally:
            gate.set()
            wait_for_signing_thread(batch)
        # each signature, once committed, is handed to publishing
        assert {c.args[0] for c in publish.call_args_list} == {"publishing.tasks.publish_document"}
        assert sorted(c.args[1] for c in publish.call_args_list) == [d.pk for d in documents]

    final = progress()
    assert final["state"] == Batch.State.DONE
    assert final["run"] == {"running": False, "done": 2, "total": 2, "percent": 100}
    assert final["items"]["signed"] == 2 and final["items"]["pending"] == 0
    assert final["error"] == ""
    assert len(calls) == 2
    for document in documents:
        assert Document.objects.get(pk=document.pk).state == DocumentState.SIGNED


def test_an_interrupted_batch_resumes_from_the_web_without_signing_twice(
    client: Client, official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting
) -> None:
    """After a failure mid-batch, approving again signs only what is left."""
    documents = [make_awaiting(make_dossier().dossier) for _ in range(2)]
    batch = batch_of(documents[0])
    sign_in(client, official)
    calls: list[int] = []

    def fail_second(data: bytes, key: Any, options: Any) -> bytes:
        calls.append(1)
        if len(calls) == 2:
            from signing.errors import SignatureOutputError

            raise SignatureOutputError("ổ đĩa đầy")
        return sign_pdf(data, key, options)

    with mock.patch("signing.engine.jobs.sign_pdf", side_effect=fail_second):
        first = client.post(f"/ky-duyet/{batch.pk}/", approve_form(*documents), follow=True)
    assert "ổ đĩa đầy" in first.content.decode()
    batch.refresh_from_db()
    assert batch.state == Batch.State.SIGNING
    assert batch.last_error == f"Hồ sơ {documents[1].dossier.code}: ổ đĩa đầy"
    signed_first = Document.objects.get(pk=documents[0].pk).signed_sha256

    with mock.patch("signing.engine.jobs.sign_pdf", wraps=sign_pdf) as spy:
        client.post(f"/ky-duyet/{batch.pk}/", approve_form())

    assert spy.call_count == 1
    assert Document.objects.get(pk=documents[0].pk).signed_sha256 == signed_first
    assert Document.objects.get(pk=documents[1].pk).state == DocumentState.SIGNED
    batch.refresh_from_db()
    assert batch.state == Batch.State.DONE and batch.last_error == ""
