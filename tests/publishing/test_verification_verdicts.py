"""The public verification page's verdicts on uploaded files and on a stamp's QR code."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import segno
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.test import Client, RequestFactory
from pyhanko.sign.signers import SimpleSigner
from pytest_django import Settings

from dossiers.files import store_bytes
from dossiers.models import Document, DocumentState, Dossier
from publishing.services import verification as service
from publishing.views import verify as verify_views
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.models import BatchItem
from signing.pades.sign import sign_pdf
from signing.services.batch_run import approve_batch
from signing.verify import sandbox
from tests.conftest import DataDirs, MakeAwaiting, MakeDossier
from tests.signing.test_stamp_layouts import drawn, qr_modules
from tests.support.pki import TEST_PASSPHRASE, append_text_update, make_test_pki
from tests.support.uploads import upload

PUBLIC = "https://motcua.example.vn"


@pytest.fixture()
def issued(trusted: DataDirs, make_dossier: MakeDossier, signed_result: bytes) -> Document:
    """A published document whose signed result is ``signed_result``."""
    path, digest = store_bytes(signed_result, trusted.store)
    return Document.objects.create(
        dossier=make_dossier(phone="0912345678").dossier,
        state=DocumentState.PUBLISHED,
        source_sha256="0" * 64,
        signed_path=str(path),
        signed_sha256=digest,
    )


@pytest.fixture(scope="session")
def stranger_signed(tmp_path_factory: pytest.TempPathFactory, result_pdf: bytes) -> bytes:
    """``result_pdf`` signed by a key of a CA nobody here trusts."""
    pki = make_test_pki(tmp_path_factory.mktemp("stranger"), name="Kẻ Lạ", org="Nơi Khác")
    stranger: SimpleSigner = load_pkcs12_signer(pki.pkcs12, TEST_PASSPHRASE)
    return sign_pdf(result_pdf, stranger)


# --- verdicts -----------------------------------------------------------------------------------


def test_verdict_not_a_pdf(client: Client, trusted: DataDirs) -> None:
    response, _ = upload(client, "Đơn đề nghị cấp bản sao".encode())
    assert response.context["verdict"] == "not_pdf"
    assert "Tệp không phải là tài liệu PDF" in response.content.decode()


def test_verdict_unsigned(client: Client, trusted: DataDirs, result_pdf: bytes) -> None:
    response, _ = upload(client, result_pdf)
    assert response.context["verdict"] == "unsigned"
    assert "Tài liệu chưa được ký số" in response.content.decode()


def test_verdict_changed_after_signing(client: Client, issued: Document) -> None:
    """A copy of an issued result with an edit appended: changed, and not ours."""
    forged = append_text_update(Path(issued.signed_path).read_bytes())
    response, _ = upload(client, forged)
    assert response.context["verdict"] == "modified"
    html = response.content.decode()
    assert "Tài liệu đã bị thay đổi sau khi ký" in html
    assert "do hệ thống phát hành" not in html and issued.dossier.code not in html


def test_verdict_untrusted_signer(
    client: Client, trusted: DataDirs, stranger_signed: bytes
) -> None:
    response, _ = upload(client, stranger_signed)
    assert response.context["verdict"] == "untrusted"
    html = response.content.decode()
    assert "Người ký không được tin cậy" in html and "Kẻ Lạ" in html


def test_verdict_issued_unchanged(client: Client, issued: Document) -> None:
    """The very bytes this system issued: the office, procedure and dossier code, never the
    applicant's name, email or phone."""
    response, _ = upload(client, Path(issued.signed_path).read_bytes())
    assert response.context["verdict"] == "issued"
    html = response.content.decode()
    assert "do hệ thống phát hành" in html
    dossier = issued.dossier
    for shown in (dossier.office.name, dossier.procedure.name, dossier.code, "Nguyễn Văn An"):
        assert shown in html
    for private in (dossier.applicant_name, dossier.email, dossier.phone):
        assert private not in html


def test_verdict_valid_but_not_ours(
    client: Client, trusted: DataDirs, result_pdf: bytes, signing_key: SimpleSigner
) -> None:
    """Signed by a trusted key but not a stored result: valid, not issued."""
    response, _ = upload(client, sign_pdf(result_pdf + b"\n% khac\n", signing_key))
    assert response.context["verdict"] == "valid"
    assert "do hệ thống phát hành" not in response.content.decode()


def _unparsable_post(monkeypatch: pytest.MonkeyPatch) -> HttpRequest:
    """A POST to the verification page that fails the test when its form is parsed."""
    request = RequestFactory().post("/kiem-tra/", {"pdf": SimpleUploadedFile("a.pdf", b"x")})

    def parse() -> None:
        raise AssertionError("the upload was parsed")

    monkeypatch.setattr(request, "_load_post_and_files", parse)
    return request


def test_busy_when_every_slot_is_taken(
    client: Client,
    trusted: DataDirs,
    settings: Settings,
    result_pdf: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond the process's verifications at once the answer is at once "busy", 503, and
    the upload is not even parsed."""
    settings.VERIFY_CONCURRENCY = 1
    slot = service._slot()
    assert slot.acquire(blocking=False)
    try:
        response, seconds = upload(client, result_pdf)
        assert verify_views.verify(_unparsable_post(monkeypatch)).status_code == 503
    finally:
        slot.release()
    assert seconds < 1
    assert response.status_code == 503 and response.context["verdict"] == "busy"
    assert "Hệ thống đang bận" in response.content.decode()
    assert upload(client, result_pdf)[0].context["verdict"] == "unsigned"


def test_the_upload_form_keeps_its_csrf_check(trusted: DataDirs, result_pdf: bytes) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert upload(strict, result_pdf)[0].status_code == 403


def test_a_busy_machine_is_not_blamed_on_the_document(
    client: Client, trusted: DataDirs, monkeypatch: pytest.MonkeyPatch, result_pdf: bytes
) -> None:
    def starved(*args: object, **kwargs: object) -> None:
        raise sandbox.VerificationStarved()

    monkeypatch.setattr(service, "verify_in_sandbox", starved)
    response, _ = upload(client, result_pdf)
    assert response.status_code == 503 and response.context["verdict"] == "busy"


def test_verifications_are_limited_per_client(
    client: Client, trusted: DataDirs, settings: Settings
) -> None:
    settings.VERIFY_RATE_LIMIT = 1
    assert upload(client, b"khong phai PDF")[0].context["verdict"] == "not_pdf"
    limited, seconds = upload(client, b"khong phai PDF")
    assert limited.status_code == 429 and seconds < 1
    assert "quá nhiều lần" in limited.content.decode()
    elsewhere, _ = upload(client, b"khong phai PDF", REMOTE_ADDR="10.1.2.3")
    assert elsewhere.context["verdict"] == "not_pdf"


# --- the stamp's QR code and its page ------------------------------------------------------------


def test_the_stamp_qr_opens_the_verification_of_that_very_document(
    client: Client,
    settings: Settings,
    trusted: DataDirs,
    official: User,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    signing_key: SimpleSigner,
) -> None:
    """Signing puts ``…/kiem-tra/<code>/`` in the QR; that page verifies the stored file and
    shows the office, procedure, dossier code, signer and time, never the applicant."""
    settings.PUBLIC_BASE_URL = PUBLIC
    document = make_awaiting(dossier)
    batch = BatchItem.objects.select_related("batch").get(document=document).batch
    approve_batch(batch, official, signing_key)
    document.refresh_from_db()
    assert document.state == DocumentState.SIGNED
    address = f"{PUBLIC}/kiem-tra/{document.verify_code}/"

    expected = [[bool(m) for m in row] for row in segno.make_qr(address, error="m").matrix]
    shown = drawn(Path(document.signed_path).read_bytes())
    (xobject,) = [obj for name, _, obj in shown.xobjects if name == "/QR"]
    box = xobject["/BBox"]
    assert isinstance(box, list)
    border = (round(float(box[2])) - len(expected)) // 2
    assert qr_modules(xobject, border) == expected

    response = client.get(urlsplit(address).path)
    assert response.status_code == 200 and response.context["verdict"] == "issued"
    html = response.content.decode()
    for public in (dossier.office.name, dossier.procedure.name, dossier.code, "Nguyễn Văn An"):
        assert public in html
    assert "ký lúc" in html
    for private in (dossier.applicant_name, dossier.email):
        assert private not in html


def test_the_qr_page_of_a_document(
    client: Client, issued: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any case of the code opens the page; its report is reused from the cache."""
    response = client.get(f"/kiem-tra/{issued.verify_code.lower()}/")
    assert response.status_code == 200 and response.context["verdict"] == "issued"

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("verified again")

    monkeypatch.setattr(service, "verify_in_sandbox", not_again)
    assert client.get(f"/kiem-tra/{issued.verify_code}/").context["verdict"] == "issued"


def test_the_qr_page_of_a_changed_stored_file(client: Client, issued: Document) -> None:
    path = Path(issued.signed_path)
    path.write_bytes(append_text_update(path.read_bytes()))
    response = client.get(f"/kiem-tra/{issued.verify_code}/")
    assert response.context["verdict"] == "modified"


def test_unknown_and_unsigned_codes(
    client: Client, trusted: DataDirs, make_awaiting: MakeAwaiting, dossier: Dossier
) -> None:
    for code in ("A" * 16, "khong-hop-le", "Z" * 40):
        response = client.get(f"/kiem-tra/{code}/")
        assert response.status_code == 404
        assert "Không tìm thấy tài liệu" in response.content.decode()
    waiting = make_awaiting(dossier)
    response = client.get(f"/kiem-tra/{waiting.verify_code}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "chưa được ký" in html and dossier.code not in html


def test_every_document_has_its_own_code(make_awaiting: MakeAwaiting, dossier: Dossier) -> None:
    codes = {make_awaiting(dossier).verify_code for _ in range(5)}
    assert len(codes) == 5
    assert all(re.fullmatch(r"[A-Z2-7]{16}", code) for code in codes)
