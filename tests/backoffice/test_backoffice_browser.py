"""The back office in a real headless Chromium: a clerk sends a refused scan back in, and the
list, dossier, refused-scan, folder and start pages never scroll sideways on a phone."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from dossiers.models import Role
from dossiers.services.registry import register_dossier
from tests.backoffice.conftest import MakeUser, Side, signed_in
from tests.conftest import DataDirs
from tests.support.browser import (
    DESKTOP,
    PHONE,
    chromium,
    click_and_wait_for_next_page,
    overflows_horizontally,
    sign_in,
)
from watch_folders.models import Intake
from watch_folders.services.claim import claim_folder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # the live server starts before a test's data directory exists; styles are inline
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])


@pytest.fixture(autouse=True)
def no_queue() -> object:
    """Claims accepted in these committed transactions enqueue nothing."""
    with mock.patch("digitize.services.dispatch.enqueue") as enqueue:
        yield enqueue


@SIZES
def test_a_clerk_sends_a_refused_scan_back(
    size: tuple[int, int],
    live_server: object,
    data_dirs: DataDirs,
    side_a: Side,
    side_b: Side,
    make_user: MakeUser,
) -> None:
    """From the start page to the refused scans, one click on "Gửi lại": the folder is in the
    inbox again and the watcher accepts it; nothing overflows on the way."""
    refused = side_a.refused
    register_dossier(
        code=refused.folder_name,
        office=side_a.office,
        procedure=side_a.procedure,
        applicant_name="Đỗ Văn Sửa",
    )
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    base = str(live_server)
    with chromium(size) as browser:
        sign_in(browser, base, client.cookies["sessionid"].value)
        browser.get(f"{base}/")
        assert refused.folder_name in browser.find_element(By.ID, "refused").text
        assert not overflows_horizontally(browser)
        browser.find_element(By.LINK_TEXT, "Bản quét lỗi").click()
        WebDriverWait(browser, 10).until(expected_conditions.url_contains("/ban-quet-loi/"))
        assert not overflows_horizontally(browser)
        table = browser.find_element(By.ID, "refusals")
        assert "Không tìm thấy hồ sơ mã" in table.text
        assert side_b.refused.folder_name not in browser.page_source
        row = table.find_element(By.XPATH, f".//tr[contains(., '{refused.folder_name}')]")
        button = row.find_element(By.CSS_SELECTOR, "button.resubmit")
        right = browser.execute_script("return arguments[0].getBoundingClientRect().right", button)
        assert float(right) <= size[0], "the button is on screen"
        click_and_wait_for_next_page(browser, button)
        done = WebDriverWait(browser, 10).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "main p.ok"))
        )
        assert "Đã đặt lại vào thư mục tiếp nhận" in done.text
        assert refused.folder_name not in browser.find_element(By.ID, "refusals").text
        assert not overflows_horizontally(browser)
    back = data_dirs.inbox / "xa-a" / refused.folder_name
    assert back.is_dir()
    assert not (Path(refused.path) / refused.folder_name).exists()
    assert claim_folder(back, "xa-a").outcome == Intake.Outcome.ACCEPTED


@SIZES
def test_the_pages_fit_the_screen(
    size: tuple[int, int],
    live_server: object,
    side_a: Side,
    make_user: MakeUser,
) -> None:
    """The list (with its filters and results), a dossier, the folders and a head's start
    page, at a phone's width as at a desktop's: no sideways scrolling."""
    head = make_user("thutruong-a", side_a.office, Role.HEAD, Role.CLERK)
    client = signed_in(head)
    base = str(live_server)
    with chromium(size) as browser:
        sign_in(browser, base, client.cookies["sessionid"].value)
        for path in ("/", "/ho-so/", f"/ho-so/{side_a.dossier.code}/", "/thu-muc/"):
            browser.get(f"{base}{path}")
            assert side_a.dossier.code in browser.page_source, path
            assert not overflows_horizontally(browser), path
        browser.get(f"{base}/ho-so/")
        browser.find_element(By.ID, "id_q").send_keys("nguyen van duc")
        search = browser.find_element(By.ID, "search")
        click_and_wait_for_next_page(browser, search)
        WebDriverWait(browser, 10).until(
            expected_conditions.presence_of_element_located((By.ID, "search"))
        )
        assert side_a.marker in browser.find_element(By.TAG_NAME, "main").text
        assert browser.find_element(By.ID, "id_q").get_attribute("value") == "nguyen van duc"
        assert "nguyen" not in browser.current_url
        assert not overflows_horizontally(browser)
