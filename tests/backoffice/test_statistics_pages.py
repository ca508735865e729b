"""The statistics page and its exports: who may open them, what they show, and that the CSV
and XLSX read back with the hand-counted figures (tests/backoffice/statistics_data.py)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import cast
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client
from openpyxl import load_workbook

from backoffice.services.exports import FIGURE_COLUMNS, HEADER_ROWS, figure_values
from backoffice.services.statistics import Figures
from dossiers.models import Membership, Office, Role
from tests.backoffice.conftest import signed_in
from tests.backoffice.statistics_data import (
    A_MARCH,
    B_MARCH,
    NOW,
    P_MARCH,
    P_OWN_MARCH,
    Province,
    build,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dirs")]

MARCH = "?nam=2025&ky=t3"
URLS = {"page": "/thong-ke/", "csv": "/thong-ke/xuat.csv", "xlsx": "/thong-ke/xuat.xlsx"}


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """The pages count at 15 May 2025, 10:00, as the service tests do."""
    with mock.patch("backoffice.views.statistics.clock", return_value=NOW):
        yield


@pytest.fixture()
def province() -> Province:
    return build()


def person(name: str, office: Office | None = None, *roles: Role) -> Client:
    user = User.objects.create_user(name)
    for role in roles:
        assert office is not None
        Membership.objects.create(user=user, office=office, role=role)
    return signed_in(user)


EXPECTED = {"anonymous": 302, "stranger": 403, "clerk": 403, "official": 403, "head": 200}


@pytest.mark.parametrize("who", sorted(EXPECTED))
@pytest.mark.parametrize("what", sorted(URLS))
def test_who_may_open_the_statistics(province: Province, who: str, what: str) -> None:
    """Heads (and administrators, below) only; a visitor is sent to sign in."""
    client = {
        "anonymous": lambda: Client(),
        "stranger": lambda: person("nguoi-la"),
        "clerk": lambda: person("vanthu-a", province.a, Role.CLERK),
        "official": lambda: person("lanhdao-a", province.a, Role.OFFICIAL),
        "head": lambda: person("truong-a", province.a, Role.HEAD),
    }[who]()
    response = client.get(URLS[what] + MARCH)
    assert response.status_code == EXPECTED[who]
    if response.status_code == 302:
        assert response["Location"].startswith("/dang-nhap/")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_head_of_a_sees_a_only(province: Province) -> None:
    """A's figures, A's overdue dossiers; nothing of B, P or the other province; asking for B
    by its id answers 404."""
    client = person("truong-a", province.a, Role.HEAD)
    response = client.get(URLS["page"] + MARCH)
    html = response.content.decode()
    assert response["Cache-Control"] == "no-store"
    for absent in ("UBND xã B", "UBND tỉnh P", "UBND xã C", ">B4<", "lanhdao-b"):
        assert absent not in html, absent
    text = _text(html)
    assert "Tháng 3/2025" in text and "UBND xã A" in text
    assert "50,0 %" in text  # A's on-time rate in March
    assert "2/4 hồ sơ đến hạn" in text
    assert "Hồ sơ đang quá hạn: 2" in text
    assert html.index(">A5<") < html.index(">A7<")  # the longest overdue first
    assert 'href="/ho-so/A5/"' in html  # a head may open A's dossiers
    assert html.count('<tr class="office depth-0"') == 1
    for what in URLS.values():
        assert client.get(f"{what}{MARCH}&co_quan={province.b.pk}").status_code == 404


def test_the_province_admin_sees_the_province_rolled_up(province: Province) -> None:
    """P's total, P's own, A and B; B's overdue dossier listed but not linked (an
    administrator has no dossier role); the menu offers the page."""
    client = person("quantri-p", province.province, Role.ADMIN)
    html = client.get(URLS["page"] + MARCH).content.decode()
    text = _text(html)
    for present in ("UBND tỉnh P (tổng, gồm cấp dưới)", "UBND tỉnh P (riêng cơ quan)"):
        assert present in text
    assert "UBND xã A" in text and "UBND xã B" in text and "UBND xã C" not in text
    assert ">B4<" in html and 'href="/ho-so/B4/"' not in html
    assert 'href="/thong-ke/"' in html
    assert "lanhdao-a" in html and "lanhdao-b" in html and "lanhdao-c" not in html
    # the charts: twelve months would not fit May's year, five bars (January to May)
    months = re.search(r'<svg class="chart" id="chart-months".*?</svg>', html, re.S)
    assert months is not None and months.group(0).count("<rect") == 5
    fields = re.search(r'<svg class="chart" id="chart-fields".*?</svg>', html, re.S)
    assert fields is not None
    # lowest rate on top: Đất đai 0 %, then Hộ tịch 50 %, then Chứng thực 100 %
    labels = re.findall(r'<text class="label"[^>]*>([^<]+)</text>', fields.group(0))
    assert labels == ["Đất đai", "Hộ tịch", "Chứng thực"]
    assert 'class="bar poor"' in fields.group(0) and 'class="bar good"' in fields.group(0)
    # SVG numbers keep their decimal point whatever the language
    assert not re.search(r'(x|y|width|height)="\d+,\d', html)


def test_the_province_page_leaves_officials_to_the_offices(province: Province) -> None:
    """With more offices than the page lists officials for, the page says where to find
    them, and the workbook still has them."""
    client = person("quantri-p", province.province, Role.ADMIN)
    with mock.patch("backoffice.services.statistics_report.OFFICIALS_ON_PAGE", 2):
        html = client.get(URLS["page"] + MARCH).content.decode()
        book = load_workbook(io.BytesIO(client.get(URLS["xlsx"] + MARCH).content))
    assert "chọn một cơ quan ở trên" in html and "lanhdao-a" not in html
    names = [
        row[1] for row in book["Theo cán bộ"].iter_rows(min_row=HEADER_ROWS + 1, values_only=True)
    ]
    assert names == ["lanhdao-a", "lanhdao-b"]


def test_csv_reads_back_with_the_same_figures(province: Province) -> None:
    """Offices (P total, P own, A, B), fields and procedures; every column as counted."""
    client = person("quantri-p", province.province, Role.ADMIN)
    response = client.get(URLS["csv"] + MARCH)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="thong-ke-2025-03.csv"' in response["Content-Disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Bảng", "STT", "Tên"] and len(header) == 3 + FIGURE_COLUMNS
    assert header[3] == "Số hồ sơ nhận giải quyết - Tổng số"
    assert header[-3:] == [
        "Tỷ lệ đúng hạn (%)",
        "Tỷ lệ có kết quả số hóa, ký số (%)",
        "Tỷ lệ hài lòng (%)",
    ]
    offices = {row[2]: row[3:] for row in body if row[0] == "Theo cơ quan"}
    expected = {
        "UBND tỉnh P (tổng, gồm cấp dưới)": P_MARCH,
        "UBND tỉnh P (riêng cơ quan)": P_OWN_MARCH,
        "UBND xã A": A_MARCH,
        "UBND xã B": B_MARCH,
    }
    assert list(offices) == list(expected)
    for name, figures in expected.items():
        assert offices[name] == _as_csv(figures), name
    assert offices["UBND xã A"][-3:] == ["50.0", "66.67", "66.67"]
    fields = {row[2] for row in body if row[0] == "Theo lĩnh vực"}
    assert fields == {"Hộ tịch", "Đất đai", "Chứng thực"}
    procedures = [row[2] for row in body if row[0] == "Theo thủ tục"]
    assert "1.001193 — Đăng ký khai sinh" in procedures and len(procedures) == 3
    totals = [sum(int(row[3 + i]) for row in body if row[0] == "Theo lĩnh vực") for i in range(13)]
    assert totals == [int(v) for v in _as_csv(P_MARCH)[:13]]  # fields add up to the province


def _as_csv(figures: Figures) -> list[str]:
    return ["" if v is None else str(v) for v in figure_values(figures)]


def test_xlsx_reads_back_with_the_same_figures(province: Province) -> None:
    """Sheets by office, field, procedure, official and month; headers as the printed forms
    (groups, numbered columns); counts as numbers and rates as percentages."""
    client = person("quantri-p", province.province, Role.ADMIN)
    response = client.get(URLS["xlsx"] + MARCH)
    assert 'filename="thong-ke-2025-03.xlsx"' in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "Theo cơ quan",
        "Theo lĩnh vực",
        "Theo thủ tục",
        "Theo cán bộ",
        "Theo tháng",
    ]
    sheet = book["Theo cơ quan"]
    assert sheet["A1"].value == "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    assert sheet["A2"].value == "UBND tỉnh P — Tháng 3/2025 (từ 01/03/2025 đến 31/03/2025)"
    assert sheet.cell(row=HEADER_ROWS - 2, column=3).value == "Số hồ sơ nhận giải quyết"
    assert sheet.cell(row=HEADER_ROWS - 1, column=4).value == "Kỳ trước chuyển qua"
    assert sheet.cell(row=HEADER_ROWS, column=3).value == "(3) = (4)+(5)"
    rows = list(sheet.iter_rows(min_row=HEADER_ROWS + 1, values_only=True))
    expected = [P_MARCH, P_OWN_MARCH, A_MARCH, B_MARCH]
    assert [row[1] for row in rows] == [
        "UBND tỉnh P (tổng, gồm cấp dưới)",
        "UBND tỉnh P (riêng cơ quan)",
        "UBND xã A",
        "UBND xã B",
    ]
    for row, figures in zip(rows, expected, strict=True):
        values = figure_values(figures)
        assert list(row[2:15]) == values[:13]
        rates = [None if v is None else round(cast(float, v) * 100, 2) for v in row[15:18]]
        assert rates == values[13:]
    assert sheet.cell(row=HEADER_ROWS + 1, column=16).number_format == "0.00%"
    officials = list(book["Theo cán bộ"].iter_rows(min_row=HEADER_ROWS + 1, values_only=True))
    assert [row[1:11] for row in officials] == [
        ("lanhdao-a", 3, 1, 2, 4, 1, 1, 1, 0, 1),
        ("lanhdao-b", 2, 0, 1, 2, 0, 1, 1, 0, 0),
    ]
    months = list(book["Theo tháng"].iter_rows(min_row=HEADER_ROWS + 1, values_only=True))
    assert [row[2:5] for row in months] == [(1, 1, 1), (0, 0, 1), (6, 4, 2), (3, 2, 2), (0, 0, 3)]
    assert round(cast(float, months[2][5]) * 100, 2) == 50.0


def test_the_heads_start_page_shows_the_month_and_links_here(province: Province) -> None:
    """May 2025 so far for A's head: nothing resolved, A5 and A7 overdue; a link to the
    statistics. An official's start page has no such section."""
    with mock.patch("backoffice.views.start.timezone.now", return_value=NOW):
        html = person("truong-a", province.a, Role.HEAD).get("/").content.decode()
        official = person("lanhdao-a", province.a, Role.OFFICIAL).get("/").content.decode()
    text = _text(html)
    assert "Chỉ số Tháng 5/2025" in text
    assert re.search(r'id="key-overdue">2<', html) and re.search(r'id="key-received">2<', html)
    assert 'href="/thong-ke/"' in html
    assert 'id="key-figures"' not in official and 'href="/thong-ke/"' not in official


def test_the_page_speaks_english_when_asked(province: Province) -> None:
    """The page's own words come from the English catalogue."""
    client = person("truong-a", province.a, Role.HEAD)
    client.cookies["django_language"] = "en"
    html = client.get(URLS["page"] + MARCH).content.decode()
    # the page's own words: not the site's menu, styles or the charts' titles
    text = _text(re.sub(r"<(style|title|header)\b.*?</\1>", "", html, flags=re.S))
    for phrase in ("Dossier statistics", "On-time rate", "Overdue dossiers: 2", "By field"):
        assert phrase in text, phrase
    assert "3/2025" in text and "5 working days" in text
    data = ["UBND xã A", "Đăng ký khai sinh", "Đăng ký đất đai lần đầu", "Hộ tịch", "Đất đai"]
    for item in [*data, "766/QĐ-TTg"]:  # the data as recorded, and the decision's number
        text = text.replace(item, "")
    assert not re.findall(r"[ăâđêôơưĂÂĐÊÔƠƯàáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵ]", text), text
    xlsx = load_workbook(io.BytesIO(client.get(URLS["xlsx"] + MARCH).content))
    assert xlsx.sheetnames[0] == "By office"
