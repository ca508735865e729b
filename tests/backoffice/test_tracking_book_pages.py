"""The tracking book's pages: the office's clerks and head see it and download it as XLSX and
PDF; nobody else, and never another office's book."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from audit.models import Action, AuditEntry
from core.pdfa.check import check_pdfa
from core.vntime import to_vn
from dossiers.models import Role
from tests.backoffice.conftest import MakeUser, Side, signed_in

PAGES = ("/so-theo-doi/", "/so-theo-doi/so-theo-doi.xlsx", "/so-theo-doi/so-theo-doi.pdf")


def _query(office_id: int) -> str:
    today = to_vn(timezone.now()).date()
    first = today - timedelta(days=30)
    return f"?co_quan={office_id}&tu_ngay={first:%Y-%m-%d}&den_ngay={today:%Y-%m-%d}"


@pytest.mark.parametrize(
    ("person", "status"),
    [("anonymous", 302), ("stranger", 403), ("official", 403), ("admin", 403)],
)
def test_only_the_desk_and_the_head_open_the_book(
    person: str, status: int, side_a: Side, make_user: MakeUser
) -> None:
    if person == "anonymous":
        client = Client()
    elif person == "stranger":
        client = signed_in(make_user("nguoi-la"))
    else:
        client = signed_in(make_user(f"{person}-a", side_a.office, Role(person)))
    for page in PAGES:
        response = client.get(page + _query(side_a.office.pk))
        assert response.status_code == status, (person, page)
        if status == 302:
            assert response["Location"].startswith("/dang-nhap/")


@pytest.mark.parametrize("role", [Role.CLERK, Role.HEAD])
def test_the_book_page_shows_the_office_dossiers_only(
    role: Role, side_a: Side, side_b: Side, make_user: MakeUser
) -> None:
    client = signed_in(make_user("nguoi-a", side_a.office, role))
    start = client.get("/").content.decode()
    assert 'href="/so-theo-doi/"' in start
    html = client.get("/so-theo-doi/" + _query(side_a.office.pk)).content.decode()
    assert side_a.dossier.code in html and side_a.marker in html
    assert "0912345678; a@example.vn" in html and "Mẫu số 07" in html
    assert side_b.marker not in html and side_b.dossier.code not in html
    for page in PAGES:
        assert client.get(page + _query(side_b.office.pk)).status_code == 404, page


def test_the_first_office_and_this_month_when_nothing_is_asked(
    side_a: Side, make_user: MakeUser
) -> None:
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    html = client.get("/so-theo-doi/").content.decode()
    today = to_vn(timezone.now()).date()
    assert f"Từ ngày {today.replace(day=1):%d/%m/%Y} đến ngày {today:%d/%m/%Y}" in html
    assert side_a.office.name in html


def test_a_period_running_backwards_is_explained(side_a: Side, make_user: MakeUser) -> None:
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    query = f"?co_quan={side_a.office.pk}&tu_ngay=2026-03-10&den_ngay=2026-03-01"
    page = client.get("/so-theo-doi/" + query)
    assert page.status_code == 200
    assert "Ngày cuối phải sau hoặc trùng ngày đầu." in page.content.decode()
    download = client.get("/so-theo-doi/so-theo-doi.xlsx" + query)
    assert download.status_code == 400
    assert "Ngày cuối phải sau" in download.content.decode()


def test_the_book_downloads_as_xlsx_and_pdf_and_is_audited(
    side_a: Side, side_b: Side, make_user: MakeUser
) -> None:
    client = signed_in(make_user("thutruong-a", side_a.office, Role.HEAD))
    query = _query(side_a.office.pk)
    xlsx = client.get("/so-theo-doi/so-theo-doi.xlsx" + query)
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert xlsx["Content-Disposition"].startswith('attachment; filename="so-theo-doi-')
    assert xlsx["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=7)]
    assert [(row[1], row[4]) for row in rows] == [(side_a.dossier.code, side_a.marker)]

    pdf = client.get("/so-theo-doi/so-theo-doi.pdf" + query)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert check_pdfa(pdf.content) == []
    text = " ".join(
        " ".join((page.extract_text() or "").split())
        for page in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "SỔ THEO DÕI HỒ SƠ" in text and side_a.marker in text and side_b.marker not in text

    entries = AuditEntry.objects.filter(action=Action.EXPORTED).order_by("seq")
    assert [(e.detail["book"], e.office_id, e.username) for e in entries] == [
        ("xlsx", side_a.office.pk, "thutruong-a"),
        ("pdf", side_a.office.pk, "thutruong-a"),
    ]
    assert all(e.detail["count"] == 1 for e in entries)
