"""The tracking book (form 07): one office's dossiers of a period with their moments, read in
one query, printed as landscape PDF/A and written as XLSX."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from pypdf import PdfReader

from core.pdfa.check import check_pdfa
from core.vntime import VN_TZ
from dossiers.models import Dossier, Membership, Office, Procedure, Role
from dossiers.services import life
from dossiers.services import tracking_book as service
from dossiers.services.registry import register_dossier
from dossiers.tracking_book import BookData, BookRow, book_xlsx, render_book_pdf
from tests.conftest import MakeDossier


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def pdf_pages(pdf: bytes) -> list[str]:
    return [
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    ]


NOW = vn(2026, 4, 15, 10)
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture()
def province(office: Office) -> Office:
    parent = Office.objects.create(code="tinh-thu", name="UBND tỉnh Thử Nghiệm")
    office.parent = parent
    office.save()
    return parent


@pytest.fixture()
def keeper(office: Office) -> User:
    user = User.objects.create_user("motcua-so")
    Membership.objects.create(user=user, office=office, role=Role.CLERK)
    return user


@pytest.fixture()
def march(
    make_dossier: MakeDossier, office: Office, other_office: Office, province: Office
) -> dict[str, Dossier]:
    """Dossiers of March 2026: one through its whole life, one refused, one still open at the
    last minute of the month; one of 1 April and one of another office left out."""
    whole = make_dossier("HS-DU-DOI", phone="0912345678", received_at=vn(2026, 3, 2, 9)).dossier
    with at(vn(2026, 3, 2, 10)):
        life.start_processing_at(whole)
    with at(vn(2026, 3, 2, 14)):
        life.transfer(whole, other_office, days=1, reason="Xác minh nơi cư trú")
    with at(vn(2026, 3, 3, 9)):
        life.transfer_back(whole)
    with at(vn(2026, 3, 3, 10)):
        life.request_supplement(whole, "Thiếu giấy chứng sinh")
    with at(vn(2026, 3, 4, 8)):
        life.complete_papers(whole)
    Dossier.objects.filter(pk=whole.pk).update(
        resolved_at=vn(2026, 3, 5, 15), status=Dossier.Status.RESOLVED
    )
    whole.refresh_from_db()
    with at(vn(2026, 3, 6, 9)):
        life.return_to_citizen(whole)
    refused = make_dossier("HS-TU-CHOI", received_at=vn(2026, 3, 10, 8, 30)).dossier
    with at(vn(2026, 3, 11, 10)):
        life.end_dossier(refused, Dossier.Status.REFUSED, "Không thuộc thẩm quyền")
    late = make_dossier("HS-CUOI-THANG", received_at=vn(2026, 3, 31, 23, 30)).dossier
    make_dossier("HS-THANG-TU", received_at=vn(2026, 4, 1, 0, 0))
    elsewhere = Procedure.objects.create(
        office=other_office, code="KS", name="Đăng ký kết hôn", limit_working_days=5
    )
    register_dossier(
        code="HS-XA-KHAC",
        office=other_office,
        procedure=elsewhere,
        applicant_name="Lê Văn Khác",
        received_at=vn(2026, 3, 12, 9),
    )
    return {"whole": whole, "refused": refused, "late": late}


def test_the_book_reads_the_month_in_one_query(
    march: dict[str, Dossier], keeper: User, office: Office
) -> None:
    """The person's roles, the office, then the dossiers with every moment in one query; in
    order of receipt, the month's last minute in, the next month and other offices out."""
    with CaptureQueriesContext(connection) as queries:
        book = service.tracking_book(keeper, office.pk, *MARCH, now=NOW)
    assert len(queries) == 3, [q["sql"] for q in queries]
    assert [row.code for row in book.rows] == ["HS-DU-DOI", "HS-TU-CHOI", "HS-CUOI-THANG"]
    assert not book.truncated and book.form_number == "Mẫu số 07"
    assert book.office_name == "UBND xã Thử Nghiệm" and book.parent_name == "UBND tỉnh Thử Nghiệm"

    whole, refused, late = book.rows
    dossier = march["whole"]
    assert whole.procedure == "Đăng ký khai sinh" and whole.applicant == "Trần Thị Bình"
    assert whole.contact == "0912345678; binh@example.vn" and whole.sets == 1
    assert whole.lead_office == "UBND xã Thử Nghiệm"
    assert whole.received_at == vn(2026, 3, 2, 9) and whole.due_at == dossier.due_at
    assert whole.sent_at == vn(2026, 3, 2, 10)
    assert whole.result_at == vn(2026, 3, 5, 15) and whole.returned_at == vn(2026, 3, 6, 9)
    assert whole.note.startswith("Đã trả kết quả cho công dân; ")
    assert "Yêu cầu bổ sung 1 lần" in whole.note and "Liên thông 1 lần" in whole.note

    assert refused.sent_at is None and refused.returned_at is None
    assert refused.result_at == vn(2026, 3, 11, 10)
    assert refused.note == "Từ chối giải quyết"

    assert late.result_at is None and late.note == "Đã tiếp nhận; Quá hạn"


def test_the_book_is_kept_by_the_office_desk_and_head_only(
    march: dict[str, Dossier], office: Office, other_office: Office
) -> None:
    head = User.objects.create_user("thu-truong")
    Membership.objects.create(user=head, office=office, role=Role.HEAD)
    official = User.objects.create_user("lanh-dao")
    Membership.objects.create(user=official, office=office, role=Role.OFFICIAL)
    assert len(service.tracking_book(head, office.pk, *MARCH, now=NOW).rows) == 3
    with pytest.raises(LookupError):
        service.tracking_book(official, office.pk, *MARCH, now=NOW)
    with pytest.raises(LookupError):
        service.tracking_book(head, other_office.pk, *MARCH, now=NOW)
    assert list(service.book_offices(official)) == []


def test_a_book_is_bounded(make_dossier: MakeDossier, keeper: User, office: Office) -> None:
    for day in (2, 3, 4):
        make_dossier(received_at=vn(2026, 3, day, 9))
    with mock.patch.object(service, "MAX_ROWS", 2):
        book = service.tracking_book(keeper, office.pk, *MARCH, now=NOW)
    assert len(book.rows) == 2 and book.truncated
    assert [row.received_at for row in book.rows] == [vn(2026, 3, 2, 9), vn(2026, 3, 3, 9)]
    with pytest.raises(ValueError, match="Ngày cuối"):
        service.tracking_book(keeper, office.pk, date(2026, 3, 2), date(2026, 3, 1), now=NOW)
    with pytest.raises(ValueError, match="366 ngày"):
        service.tracking_book(keeper, office.pk, date(2025, 1, 1), date(2026, 1, 2), now=NOW)


def test_a_book_of_2018_rules_is_form_06(keeper: User, office: Office) -> None:
    book = service.tracking_book(keeper, office.pk, date(2025, 6, 1), date(2025, 6, 30), now=NOW)
    assert book.form_number == "Mẫu số 06" and book.rows == []


def test_the_printed_book_is_landscape_pdfa_in_vietnamese(
    march: dict[str, Dossier], keeper: User, office: Office
) -> None:
    pdf = render_book_pdf(service.tracking_book(keeper, office.pk, *MARCH, now=NOW))
    assert check_pdfa(pdf) == []
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)
    (text,) = pdf_pages(pdf)
    for words in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "UBND TỈNH THỬ NGHIỆM",
        "UBND XÃ THỬ NGHIỆM",
        "Mẫu số 07",
        "SỔ THEO DÕI HỒ SƠ",
        "Từ ngày 01/03/2026 đến ngày 31/03/2026",
        "Cơ quan chủ trì giải quyết",
        "Trần Thị Bình",
        "HS-TU-CHOI",
        "Từ chối giải quyết",
        "(14)",
    ):
        assert words in text, words
    assert "Số:" not in text and "HS-THANG-TU" not in text and "Lê Văn Khác" not in text


def _row(number: int) -> BookRow:
    received = vn(2026, 3, 1, 8) + timedelta(hours=number)
    return BookRow(
        code=f"000.00.14.H56-260301-{number:04d}",
        procedure="Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm quyền cấp",
        applicant=f"Nguyễn Thị Hồng Nhung {number}",
        contact="0987654321",
        lead_office="UBND phường Bến Nghé",
        received_at=received,
        due_at=received + timedelta(days=3),
        sent_at=received + timedelta(hours=1),
        result_at=None,
        returned_at=None,
        note="Đang giải quyết",
    )


def test_a_long_book_repeats_its_heading_on_every_page() -> None:
    data = BookData(
        office_id=1,
        office_name="UBND phường Bến Nghé",
        parent_name="",
        first_day=date(2026, 3, 1),
        last_day=date(2026, 3, 31),
        rows=[_row(n) for n in range(1, 61)],
        truncated=True,
        form_number="Mẫu số 07",
        printed_at=NOW,
    )
    pdf = render_book_pdf(data)
    assert check_pdfa(pdf) == []
    pages = pdf_pages(pdf)
    assert len(pages) >= 3
    assert all("Mã hồ sơ" in page and "(14)" in page for page in pages)
    assert "Nguyễn Thị Hồng Nhung 60" in pages[-1]
    assert "Sổ chỉ ghi 60 hồ sơ" in pages[-1]


def test_the_workbook_has_the_columns_and_one_row_per_dossier(
    march: dict[str, Dossier], keeper: User, office: Office
) -> None:
    data = service.tracking_book(keeper, office.pk, *MARCH, now=NOW)
    sheet = load_workbook(io.BytesIO(book_xlsx(data))).active
    assert sheet is not None
    assert sheet["A2"].value == "SỔ THEO DÕI HỒ SƠ"
    assert sheet["A3"].value == "Từ ngày 01/03/2026 đến ngày 31/03/2026"
    assert sheet["N1"].value == "Mẫu số 07"
    heading = [cell.value for cell in sheet[5]]
    assert heading[:3] == ["STT", "Mã hồ sơ", "Tên thủ tục hành chính"]
    assert heading[6] == "Cơ quan chủ trì giải quyết" and heading[13] == "Ghi chú"
    assert [cell.value for cell in sheet[6]] == [f"({n})" for n in range(1, 15)]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=7)]
    assert [row[1] for row in rows] == ["HS-DU-DOI", "HS-TU-CHOI", "HS-CUOI-THANG"]
    first = rows[0]
    assert first[0] == 1 and first[3] == 1 and first[4] == "Trần Thị Bình"
    assert first[7] == datetime(2026, 3, 2, 9, 0)  # Vietnam wall time
    assert first[11] == datetime(2026, 3, 6, 9, 0)
    assert sheet.cell(row=7, column=8).number_format == "dd/mm/yyyy hh:mm"
    assert rows[2][10] is None and rows[2][13] == "Đã tiếp nhận; Quá hạn"
