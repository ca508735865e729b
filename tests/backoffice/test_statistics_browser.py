"""The statistics page in a real headless Chromium, at a phone's and a desktop's width: no
sideways scrolling, the overdue dossiers first, the charts drawn inside the page, and the
period changed from the form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.models import User
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from dossiers.models import Membership, Office, Role
from tests.backoffice.conftest import signed_in
from tests.backoffice.statistics_data import NOW, Province, build
from tests.support.browser import DESKTOP, PHONE, chromium, overflows_horizontally, sign_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # the live server starts before a test's data directory exists; styles are inline
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
    pytest.mark.usefixtures("data_dirs"),
]

SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with mock.patch("backoffice.views.statistics.clock", return_value=NOW):
        yield


@pytest.fixture()
def province() -> Province:
    return build()


def session_of(name: str, office: Office, role: Role) -> str:
    user = User.objects.create_user(name)
    Membership.objects.create(user=user, office=office, role=role)
    return str(signed_in(user).cookies["sessionid"].value)


def _right(browser: object, element: object) -> float:
    return float(
        browser.execute_script(  # type: ignore[attr-defined]
            "return arguments[0].getBoundingClientRect().right", element
        )
    )


@SIZES
def test_the_province_admin_reads_the_page(
    size: tuple[int, int], live_server: object, province: Province, tmp_path: Path
) -> None:
    """March 2025 for the province: overdue dossiers above the charts, charts and cards
    within the window, tables scrolling inside their boxes, never the page."""
    base = str(live_server)
    with chromium(size) as browser:
        sign_in(browser, base, session_of("quantri-p", province.province, Role.ADMIN))
        browser.get(f"{base}/thong-ke/?nam=2025&ky=t3")
        assert browser.find_element(By.ID, "period-label").text == "Tháng 3/2025"
        assert not overflows_horizontally(browser)
        overdue = browser.find_element(By.ID, "overdue")
        charts = browser.find_element(By.ID, "charts")
        assert overdue.location["y"] < charts.location["y"]
        assert "B4" in overdue.text and "Hồ sơ đang quá hạn: 3" in overdue.text
        rate = browser.find_element(By.ID, "on-time-rate")
        assert "50,0 %" in rate.text and "4/8 hồ sơ đến hạn" in rate.text
        for chart in ("chart-months", "chart-fields"):
            svg = browser.find_element(By.ID, chart)
            assert svg.size["width"] > 200, "the chart is drawn at a readable size"
            assert _right(browser, svg) <= size[0]
        for table in browser.find_elements(By.CSS_SELECTOR, ".table-wrap"):
            assert _right(browser, table) <= size[0]
        offices = browser.find_element(By.ID, "by-office").text
        assert "UBND tỉnh P (tổng, gồm cấp dưới)" in offices and "UBND xã B" in offices
        browser.save_screenshot(str(tmp_path / f"thong-ke-{size[0]}.png"))


@SIZES
def test_a_head_changes_the_period_from_the_start_page(
    size: tuple[int, int], live_server: object, province: Province
) -> None:
    """From the start page's link to the statistics, then the first quarter from the form:
    the address carries the choice and the figures follow it."""
    base = str(live_server)
    with chromium(size) as browser:
        sign_in(browser, base, session_of("truong-a", province.a, Role.HEAD))
        browser.get(f"{base}/")
        assert browser.find_element(By.ID, "key-figures").is_displayed()
        assert not overflows_horizontally(browser)
        browser.find_element(By.LINK_TEXT, "Xem thống kê, biểu đồ và tải báo cáo").click()
        WebDriverWait(browser, 10).until(expected_conditions.url_contains("/thong-ke/"))
        assert not overflows_horizontally(browser)
        assert browser.find_element(By.ID, "period-label").text == "Năm 2025"
        assert not browser.find_elements(By.ID, "id_co_quan"), "one office: no office choice"
        Select(browser.find_element(By.ID, "id_ky")).select_by_value("q1")
        browser.find_element(By.CSS_SELECTOR, "#period-form button").click()
        WebDriverWait(browser, 10).until(expected_conditions.url_contains("ky=q1"))
        assert browser.find_element(By.ID, "period-label").text == "Quý I/2025"
        received = browser.find_element(By.ID, "received").text
        assert "6 mới, 0 kỳ trước" in received  # A1 A2 A3 A4 A5 A8
        assert "UBND xã B" not in browser.page_source
        assert not overflows_horizontally(browser)
        link = browser.find_element(By.LINK_TEXT, "Tải Excel (XLSX)")
        assert "ky=q1" in (link.get_attribute("href") or "")
