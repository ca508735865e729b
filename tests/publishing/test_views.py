"""Tests of the web pages: registration with its receipt, public lookup, download and verify."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from dossiers.files import store_bytes
from dossiers.models import Document, DocumentState, Dossier, Office, Procedure
from publishing.views.lookup import LOOKUP_LIMIT
from signing.devpki import IssuedKey
from tests.conftest import DataDirs, MakeDossier
from tests.support.pki import append_text_update


@dataclass(frozen=True)
class Published:
    dossier: Dossier
    secret: str
    document: Document
    pdf: bytes


@pytest.fixture()
def published(
    data_dirs: DataDirs, make_dossier: MakeDossier, signed_result: bytes, clear_cache: None
) -> Published:
    """A resolved dossier whose signed result has been published."""
    registered = make_dossier()
    path, digest = store_bytes(signed_result, data_dirs.store)
    document = Document.objects.create(
        dossier=registered.dossier,
        state=DocumentState.PUBLISHED,
        source_sha256="0" * 64,
        signed_path=str(path),
        signed_sha256=digest,
    )
    Dossier.objects.filter(pk=registered.dossier.pk).update(
        status=Dossier.Status.RESOLVED, resolved_at=timezone.now()
    )
    registered.dossier.refresh_from_db()
    return Published(registered.dossier, registered.secret, document, signed_result)


def grouped_lower(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)).lower()


def test_lookup_with_the_right_secret_shows_the_status(
    client: Client, published: Published
) -> None:
    """The code and the secret (as printed, any case) open the dossier's status page."""
    response = client.post(
        "/tra-cuu/", {"code": published.dossier.code, "secret": grouped_lower(published.secret)}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Đã có kết quả" in html
    assert published.dossier.procedure.name in html
    assert response.context["dossier"] == published.dossier
    assert response.context["result"] == published.document


def test_lookup_with_a_wrong_secret_reveals_nothing(client: Client, published: Published) -> None:
    """A wrong secret gets 403 and a page without any of the dossier's data."""
    wrong = ("A" if published.secret[0] != "A" else "B") + published.secret[1:]
    response = client.post("/tra-cuu/", {"code": published.dossier.code, "secret": wrong})
    assert response.status_code == 403
    html = response.content.decode()
    assert "không đúng" in html
    for private in (
        published.dossier.procedure.name,
        published.dossier.applicant_name,
        published.dossier.office.name,
        "Đã có kết quả",
    ):
        assert private not in html
    assert "dossier" not in response.context


def test_lookup_of_an_unknown_code_looks_like_a_wrong_secret(
    client: Client, published: Published
) -> None:
    """An unknown code answers exactly as a wrong secret does, so codes cannot be probed."""
    unknown = client.post("/tra-cuu/", {"code": "HS-KHONG-CO", "secret": published.secret})
    wrong = client.post("/tra-cuu/", {"code": published.dossier.code, "secret": "X" * 32})
    assert unknown.status_code == wrong.status_code == 403
    assert unknown.context["error"] == wrong.context["error"]


def test_download_needs_the_secret(client: Client, published: Published) -> None:
    """The signed PDF comes only with the right code and secret; otherwise 403 and no PDF."""
    refused = client.post(
        "/tra-cuu/tai-ve/", {"code": published.dossier.code, "secret": "SAI" * 10}
    )
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("text/html")
    assert b"%PDF" not in refused.content

    response = client.post(
        "/tra-cuu/tai-ve/", {"code": published.dossier.code, "secret": published.secret}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"ket-qua-{published.dossier.code}.pdf" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content) == published.pdf  # type: ignore[attr-defined]


def test_download_before_a_result_exists_is_404(
    client: Client, make_dossier: MakeDossier, data_dirs: DataDirs, clear_cache: None
) -> None:
    """The right secret for a dossier still in progress gets 'no result yet', not a file."""
    registered = make_dossier()
    response = client.post(
        "/tra-cuu/tai-ve/", {"code": registered.dossier.code, "secret": registered.secret}
    )
    assert response.status_code == 404
    assert "chưa có kết quả" in response.content.decode()


def test_repeated_failures_are_throttled(client: Client, published: Published) -> None:
    """After too many wrong secrets from one address even the right one is refused for a while."""
    for _ in range(LOOKUP_LIMIT):
        assert (
            client.post("/tra-cuu/", {"code": published.dossier.code, "secret": "X"}).status_code
            == 403
        )
    blocked = client.post("/tra-cuu/", {"code": published.dossier.code, "secret": published.secret})
    assert blocked.status_code == 403
    assert "quá nhiều lần" in blocked.content.decode()
    download = client.post(
        "/tra-cuu/tai-ve/", {"code": published.dossier.code, "secret": published.secret}
    )
    assert download.status_code == 403
    elsewhere = client.post(
        "/tra-cuu/",
        {"code": published.dossier.code, "secret": published.secret},
        REMOTE_ADDR="10.1.2.3",
    )
    assert elsewhere.status_code == 200


def test_lookup_form_is_public(client: Client, data_dirs: DataDirs) -> None:
    """Anyone can open the empty lookup form."""
    response = client.get("/tra-cuu/")
    assert response.status_code == 200
    assert 'name="secret"' in response.content.decode()


# --- registration --------------------------------------------------------------------------


@pytest.fixture()
def clerk(db: None) -> User:
    user = User.objects.create_user("vanthu")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="dossiers", codename="add_dossier")
    )
    return user


def test_register_needs_login_and_permission(
    client: Client, data_dirs: DataDirs, office: Office
) -> None:
    """Anonymous users are sent to log in; a user without the permission gets 403."""
    anonymous = client.get("/tiep-nhan/")
    assert anonymous.status_code == 302 and "/dang-nhap/" in anonymous["Location"]
    client.force_login(User.objects.create_user("khach"))
    assert client.get("/tiep-nhan/").status_code == 403
    assert client.post("/tiep-nhan/", {"code": "HS-1"}).status_code == 403
    assert not Dossier.objects.exists()


def test_register_returns_the_printable_receipt(
    client: Client, data_dirs: DataDirs, clerk: User, office: Office, procedure: Procedure
) -> None:
    """A clerk's registration creates the dossier and answers with its PDF receipt."""
    client.force_login(clerk)
    assert client.get("/tiep-nhan/").status_code == 200
    response = client.post(
        "/tiep-nhan/",
        {
            "office": office.pk,
            "procedure": procedure.pk,
            "code": "000.00.21.H26-261122-0042",
            "applicant_name": "Hoàng Thị Em",
            "email": "em@example.vn",
            "phone": "0987654321",
        },
    )
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert "giay-hen-000.00.21.H26-261122-0042.pdf" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    dossier = Dossier.objects.get(code="000.00.21.H26-261122-0042")
    assert dossier.applicant_name == "Hoàng Thị Em"
    assert dossier.events.get(kind="registered").actor == "vanthu"


def test_register_shows_a_duplicate_code_as_an_error(
    client: Client,
    data_dirs: DataDirs,
    clerk: User,
    office: Office,
    procedure: Procedure,
    make_dossier: MakeDossier,
) -> None:
    """Registering an existing code shows the Vietnamese error on the form, not a receipt."""
    existing = make_dossier().dossier
    client.force_login(clerk)
    response = client.post(
        "/tiep-nhan/",
        {
            "office": office.pk,
            "procedure": procedure.pk,
            "code": existing.code,
            "applicant_name": "Hoàng Thị Em",
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert f"Mã hồ sơ {existing.code} đã tồn tại." in response.content.decode()


# --- verification --------------------------------------------------------------------------


@pytest.fixture()
def trusted(data_dirs: DataDirs, throwaway_pki: IssuedKey) -> None:
    shutil.copyfile(throwaway_pki.ca_cert, data_dirs.trust / "ca.pem")


@pytest.mark.usefixtures("trusted")
def test_verify_reports_an_issued_signed_pdf_as_ok(client: Client, published: Published) -> None:
    """A result this system signed and published verifies as valid and as issued by us."""
    upload = SimpleUploadedFile("ket-qua.pdf", published.pdf, content_type="application/pdf")
    response = client.post("/kiem-tra/", {"pdf": upload})
    assert response.status_code == 200
    assert response.context["report"].ok
    assert response.context["issued"] is True
    html = response.content.decode()
    assert "Chữ ký hợp lệ" in html
    assert "do hệ thống phát hành" in html


@pytest.mark.usefixtures("trusted")
def test_verify_flags_a_tampered_copy(client: Client, published: Published) -> None:
    """A signed result changed afterwards is neither valid nor recognised as issued."""
    forged = append_text_update(published.pdf)
    upload = SimpleUploadedFile("ket-qua.pdf", forged, content_type="application/pdf")
    response = client.post("/kiem-tra/", {"pdf": upload})
    assert response.status_code == 200
    assert not response.context["report"].ok
    assert response.context["issued"] is False
    assert "do hệ thống phát hành" not in response.content.decode()


@pytest.mark.usefixtures("trusted")
def test_verify_of_an_unsigned_pdf_is_not_ok(
    client: Client, data_dirs: DataDirs, db: None, result_pdf: bytes
) -> None:
    """A PDF without any signature is reported as not valid."""
    upload = SimpleUploadedFile("khong-ky.pdf", result_pdf, content_type="application/pdf")
    response = client.post("/kiem-tra/", {"pdf": upload})
    assert response.status_code == 200
    assert not response.context["report"].ok
    assert response.context["issued"] is False
