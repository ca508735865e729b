"""Tests of the web pages: registration with its receipt, public lookup, download and verify."""

from __future__ import annotations

import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEntry
from audit.services.record import Action
from dossiers.models import Dossier, Office, Procedure
from dossiers.services.registry import normalise_secret
from dossiers.services.reissue import reissue_secret
from publishing.services import tokens
from publishing.services.throttle import ThrottlePolicy
from signing.devpki import IssuedKey
from tests.conftest import DataDirs, MakeDossier
from tests.publishing.conftest import Published, download_link
from tests.support.pki import append_text_update


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


def test_download_goes_through_a_single_use_link(client: Client, published: Published) -> None:
    """A successful lookup offers a link that downloads the signed PDF once; then 410."""
    page = client.post(
        "/tra-cuu/", {"code": published.dossier.code, "secret": published.secret}
    ).content.decode()
    link = download_link(page)
    assert published.secret not in link
    response = client.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"ket-qua-{published.dossier.code}.pdf" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert b"".join(response.streaming_content) == published.pdf  # type: ignore[attr-defined]

    again = client.get(link)
    assert again.status_code == 410
    assert again["Content-Type"].startswith("text/html")
    assert b"%PDF" not in again.content
    assert "đã được dùng hoặc đã hết hạn" in again.content.decode()


def test_a_link_earned_before_the_secret_was_reissued_is_gone(
    client: Client, published: Published
) -> None:
    """The citizen lost the receipt and the desk reissued the secret: a download link made
    with the old secret a minute earlier no longer opens the result."""
    page = client.post(
        "/tra-cuu/", {"code": published.dossier.code, "secret": published.secret}
    ).content.decode()
    reissue_secret(published.dossier, actor="vanthu")
    response = client.get(download_link(page))
    assert response.status_code == 410 and b"%PDF" not in response.content


def test_a_download_is_written_in_the_audit_trail(client: Client, published: Published) -> None:
    """The citizen's download is recorded with the result's SHA-256, never the secret."""
    page = client.post(
        "/tra-cuu/", {"code": published.dossier.code, "secret": published.secret}
    ).content.decode()
    response = client.get(download_link(page))
    assert response.status_code == 200
    assert b"".join(response.streaming_content)  # type: ignore[attr-defined]
    response.close()
    entry = AuditEntry.objects.get(action=Action.DOWNLOADED)
    document = published.dossier.documents.get()
    assert entry.sha256 == document.signed_sha256 and entry.office_id == published.dossier.office_id
    assert published.secret not in str(entry.detail)


def test_an_unknown_download_link_is_gone(client: Client, data_dirs: DataDirs, db: None) -> None:
    """A made-up token gets the same 410 as a used one; the old POST download is gone."""
    assert client.get("/tra-cuu/tai-ve/" + "A" * 32 + "/").status_code == 410
    assert client.post("/tra-cuu/tai-ve/" + "A" * 32 + "/").status_code == 405
    assert client.post("/tra-cuu/tai-ve/", {"code": "x", "secret": "y"}).status_code == 404


def test_no_download_link_before_a_result_exists(
    client: Client, make_dossier: MakeDossier, data_dirs: DataDirs, clear_cache: None
) -> None:
    """The right secret for a dossier still in progress shows 'no result yet' and no link."""
    registered = make_dossier()
    response = client.post(
        "/tra-cuu/", {"code": registered.dossier.code, "secret": registered.secret}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "chưa có kết quả" in html
    assert "/tra-cuu/tai-ve/" not in html
    assert response.context["result"] is None


def test_repeated_failures_are_throttled(client: Client, published: Published) -> None:
    """After too many wrong secrets one address must wait (429, Retry-After); others need not."""
    for _ in range(ThrottlePolicy().client_free):
        assert (
            client.post("/tra-cuu/", {"code": published.dossier.code, "secret": "X"}).status_code
            == 403
        )
    waiting = client.post("/tra-cuu/", {"code": published.dossier.code, "secret": published.secret})
    assert waiting.status_code == 429
    assert int(waiting["Retry-After"]) >= 1
    assert "Vui lòng chờ" in waiting.content.decode()
    assert "dossier" not in waiting.context
    elsewhere = client.post(
        "/tra-cuu/",
        {"code": published.dossier.code, "secret": published.secret},
        REMOTE_ADDR="10.1.2.3",
    )
    assert elsewhere.status_code == 200


def test_result_page_is_private(client: Client, published: Published) -> None:
    """The result page is not stored by browsers or proxies and sends no Referer onwards."""
    response = client.post(
        "/tra-cuu/", {"code": published.dossier.code, "secret": published.secret}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_form_pages_are_not_stored_and_can_post_again(client: Client, published: Published) -> None:
    """Form pages are no-store too, but keep a Referrer-Policy under which a browser's POST
    carries its real Origin (under no-referrer it sends ``Origin: null``, refused by CSRF)."""
    for response in (
        client.get("/tra-cuu/"),
        client.post("/tra-cuu/", {"code": published.dossier.code, "secret": "X" * 32}),
    ):
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] != "no-referrer"


def test_the_secret_is_never_written_back_into_the_form(
    client: Client, published: Published
) -> None:
    """After a refused or incomplete POST the code is kept, the secret is not."""
    typed = grouped_lower(published.secret)
    wrong = typed[:-1] + ("a" if typed[-1] != "a" else "b")
    for data in ({"code": published.dossier.code, "secret": wrong}, {"code": "", "secret": typed}):
        html = client.post("/tra-cuu/", data).content.decode()
        assert wrong not in html and typed not in html
        assert normalise_secret(wrong) not in html and published.secret not in html
    again = client.post("/tra-cuu/", {"code": published.dossier.code, "secret": wrong})
    assert f'value="{published.dossier.code}"' in again.content.decode()


def test_the_secret_is_typed_in_a_visible_grouped_field(
    client: Client, data_dirs: DataDirs
) -> None:
    """A plain text input, no autocomplete or autocorrect, capitals, grouped as printed."""
    html = client.get("/tra-cuu/").content.decode()
    field = re.search(r'<input[^>]*name="secret"[^>]*>', html)
    assert field
    tag = field.group(0)
    assert 'type="text"' in tag and "password" not in tag
    for attribute in (
        'autocomplete="off"',
        'autocapitalize="characters"',
        'spellcheck="false"',
        'inputmode="text"',
        'placeholder="XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX"',
    ):
        assert attribute in tag
    assert 'name="viewport"' in html


def test_the_receipts_link_fills_in_the_code(client: Client, data_dirs: DataDirs) -> None:
    """``/tra-cuu/?ma=<code>`` (the receipt's QR code) opens the form with the code filled in."""
    html = client.get("/tra-cuu/", {"ma": "000.00.21.H26-261122-0042"}).content.decode()
    assert 'value="000.00.21.H26-261122-0042"' in html


def test_grouped_secret_with_dashes_is_accepted(client: Client, published: Published) -> None:
    """The secret typed in groups with spaces or dashes, any case, opens the dossier."""
    dashed = "-".join(published.secret[i : i + 4] for i in range(0, 32, 4)).lower()
    response = client.post("/tra-cuu/", {"code": published.dossier.code, "secret": dashed})
    assert response.status_code == 200


def test_a_download_link_expires(
    client: Client, published: Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unused link stops working after its five minutes."""
    page = client.post(
        "/tra-cuu/", {"code": published.dossier.code, "secret": published.secret}
    ).content.decode()
    later = time.time() + tokens.TOKEN_TTL_S + 1
    monkeypatch.setattr(tokens, "_now", lambda: later)
    assert client.get(download_link(page)).status_code == 410


def test_a_download_token_is_consumed_once_under_a_race(db: None) -> None:
    """Of many redemptions of one token, exactly one gets the document."""
    token = tokens.issue_download(42, "h" * 64)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: tokens.redeem_download(token), range(32)))
    assert results.count((42, "h" * 64)) == 1 and results.count(None) == 31
    assert len(token) >= 32  # 192 random bits, URL-safe


def test_lookup_form_is_public(client: Client, data_dirs: DataDirs) -> None:
    """Anyone can open the empty lookup form."""
    response = client.get("/tra-cuu/")
    assert response.status_code == 200
    assert 'name="secret"' in response.content.decode()


# --- registration --------------------------------------------------------------------------


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
    """A clerk's registration creates the dossier and leads, through its confirmation page,
    to its PDF receipt (tests/dossiers/test_register_pages.py tests that page)."""
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
    assert response.status_code == 302, response.content[:500]
    token = response["Location"].rstrip("/").rsplit("/", 1)[1]
    dossier = Dossier.objects.get(code="000.00.21.H26-261122-0042")
    response = client.get(f"/tiep-nhan/giay-hen/{token}/{dossier.pk}.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"  # it carries the lookup secret
    assert "giay-hen-000.00.21.H26-261122-0042.pdf" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
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
    assert response["Cache-Control"] == "no-store"  # the form shows the applicant's data


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
