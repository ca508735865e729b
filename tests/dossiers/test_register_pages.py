"""The registration page: a confirmation with code, applicant and due date, the receipt printed
and reprinted while it is kept (then gone), the next dossier prefilled."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core.vntime import VN_TZ
from dossiers.models import Dossier, Membership, Office, Procedure, Role
from dossiers.services import receipts
from tests.conftest import DataDirs, sign_in
from tests.dossiers.receipt_text import secret_on

AGENCY = "000.00.14.H56"


@pytest.fixture()
def desk(client: Client, data_dirs: DataDirs, clerk: User, office: Office) -> Client:
    """The clerk signed in at the desk of an office with its agency identifier."""
    office.agency_code = AGENCY
    office.save()
    sign_in(client, clerk)
    return client


def _form(office: Office, procedure: Procedure, **overrides: str) -> dict[str, str]:
    return {
        "office": str(office.pk),
        "procedure": str(procedure.pk),
        "code": "",
        "applicant_name": "Trịnh Thị Hoa",
        "email": "hoa@example.vn",
        "phone": "+84 912 345 678",
        **overrides,
    }


def _private(response: object) -> None:
    assert response["Cache-Control"] == "no-store"  # type: ignore[index]
    assert response["Referrer-Policy"] == "no-referrer"  # type: ignore[index]


def test_registering_leads_to_a_confirmation_not_the_pdf(
    desk: Client, office: Office, procedure: Procedure
) -> None:
    """After "Tiếp nhận" the clerk sees the code, the applicant, the due date and the buttons."""
    response = desk.post("/tiep-nhan/", _form(office, procedure))
    assert response.status_code == 302
    confirmation = response["Location"]
    assert confirmation.startswith("/tiep-nhan/xac-nhan/")
    dossier = Dossier.objects.get()
    assert re.fullmatch(rf"{re.escape(AGENCY)}-\d{{6}}-0001", dossier.code)
    assert dossier.phone == "0912345678"
    page = desk.get(confirmation)
    assert page.status_code == 200
    _private(page)
    html = page.content.decode()
    assert dossier.code in html and "Trịnh Thị Hoa" in html
    assert dossier.due_at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") in html
    assert 'id="print-receipt"' in html and 'id="reprint-receipt"' in html
    next_url = f"/tiep-nhan/?co-quan={office.pk}&amp;thu-tuc={procedure.pk}"
    assert next_url in html
    # the next dossier's form comes with office and procedure chosen
    form = desk.get(f"/tiep-nhan/?co-quan={office.pk}&thu-tuc={procedure.pk}").content.decode()
    assert f'<option value="{office.pk}" selected>' in form
    assert f'<option value="{procedure.pk}" selected>' in form


def test_the_receipt_prints_and_reprints_with_the_dossiers_secret(
    desk: Client, office: Office, procedure: Procedure
) -> None:
    """The PDF opens twice with the same secret, which opens the dossier; nothing in clear kept."""
    confirmation = desk.post("/tiep-nhan/", _form(office, procedure))["Location"]
    dossier = Dossier.objects.get()
    html = desk.get(confirmation).content.decode()
    receipt_url = re.search(r'id="print-receipt" href="([^"]+)"', html)
    assert receipt_url is not None
    first = desk.get(receipt_url.group(1))
    assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
    _private(first)
    again = desk.get(receipt_url.group(1))
    assert again.status_code == 200
    secret = secret_on(first.content)
    assert secret_on(again.content) == secret
    assert dossier.check_secret(secret)
    # what the cache keeps is sealed: the secret is not in it in clear
    from django.core.cache import cache

    stored = cache.get(receipts._key(confirmation.rstrip("/").rsplit("/", 1)[1]))
    assert stored is not None and secret.encode() not in repr(stored).encode()


def test_the_receipt_is_gone_after_30_minutes(
    desk: Client, office: Office, procedure: Procedure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the keeping time, the page and the PDF answer 410 and point to a reissue."""
    confirmation = desk.post("/tiep-nhan/", _form(office, procedure))["Location"]
    token = confirmation.rstrip("/").rsplit("/", 1)[1]
    dossier = Dossier.objects.get()
    pdf_url = f"/tiep-nhan/giay-hen/{token}/{dossier.pk}.pdf"
    assert desk.get(pdf_url).status_code == 200
    now = receipts._now()
    monkeypatch.setattr(receipts, "_now", lambda: now + receipts.KEEP_S - 5)
    assert desk.get(pdf_url).status_code == 200
    monkeypatch.setattr(receipts, "_now", lambda: now + receipts.KEEP_S + 1)
    for url in (pdf_url, confirmation):
        gone = desk.get(url)
        assert gone.status_code == 410
        assert "cấp lại mã tra cứu" in gone.content.decode()


def test_the_receipt_opens_only_in_the_clerks_session(
    desk: Client, clerk: User, office: Office, procedure: Procedure
) -> None:
    """The same clerk signed in elsewhere, or another clerk of the office, cannot open it."""
    confirmation = desk.post("/tiep-nhan/", _form(office, procedure))["Location"]
    dossier = Dossier.objects.get()
    token = confirmation.rstrip("/").rsplit("/", 1)[1]
    colleague = User.objects.create_user("vanthu2")
    Membership.objects.create(user=colleague, office=office, role=Role.CLERK)
    for user in (clerk, colleague):
        other = Client()
        sign_in(other, user)
        assert other.get(confirmation).status_code == 410
        assert other.get(f"/tiep-nhan/giay-hen/{token}/{dossier.pk}.pdf").status_code == 410
    assert desk.get("/tiep-nhan/giay-hen/" + "x" * 43 + f"/{dossier.pk}.pdf").status_code == 410


def test_a_bad_phone_is_refused_on_the_form_in_vietnamese(
    desk: Client, office: Office, procedure: Procedure
) -> None:
    response = desk.post("/tiep-nhan/", _form(office, procedure, phone="abc", email="hoa@"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Số điện thoại &#x27;abc&#x27; không hợp lệ" in html
    assert "Thư điện tử không hợp lệ" in html
    assert not Dossier.objects.exists()


def test_an_office_without_agency_code_is_explained(
    client: Client, data_dirs: DataDirs, clerk: User, office: Office, procedure: Procedure
) -> None:
    """Left empty, the code cannot be made without the office's identifier: the clerk is told
    to ask the administrator (or type the code), and nothing is registered."""
    sign_in(client, clerk)
    response = client.post("/tiep-nhan/", _form(office, procedure))
    html = response.content.decode()
    assert response.status_code == 200
    assert "chưa có mã định danh điện tử" in html and "quản trị viên" in html
    typed = client.post("/tiep-nhan/", _form(office, procedure, code="HS-2025-0001"))
    assert typed.status_code == 302
    assert Dossier.objects.get().code == "HS-2025-0001"


def test_a_clerk_cannot_register_in_another_office(
    desk: Client, other_office: Office, procedure: Procedure
) -> None:
    other_procedure = Procedure.objects.create(
        office=other_office, code="HT-KETHON", name="Đăng ký kết hôn", limit_working_days=5
    )
    response = desk.post("/tiep-nhan/", _form(other_office, other_procedure))
    assert response.status_code == 200
    assert not Dossier.objects.exists()


def test_the_code_carries_the_day_of_receipt_in_vietnam_time(
    desk: Client, office: Office, procedure: Procedure
) -> None:
    desk.post("/tiep-nhan/", _form(office, procedure))
    dossier = Dossier.objects.get()
    assert dossier.code == f"{AGENCY}-{dossier.received_at.astimezone(VN_TZ):%y%m%d}-0001"
