"""A head reviews and signs an apology letter in a real headless Chromium at a phone's width,
never scrolling sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from core.vntime import to_vn
from dossiers.models import CalendarDay, Dossier, Letter, LetterForm
from dossiers.services.letters import draft_letter
from tests.backoffice.conftest import signed_in
from tests.conftest import DataDirs, MakeDossier
from tests.support.browser import (
    PHONE,
    chromium,
    click_and_wait_for_next_page,
    overflows_horizontally,
    sign_in,
)
from tests.support.pki import TEST_PASSPHRASE

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # the live server starts before a test's data directory exists; styles are inline
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def _fits(browser: Chrome, what: str) -> None:
    assert not overflows_horizontally(browser), what


def _submit(browser: Chrome, button_id: str) -> str:
    """Click the button and wait for the next page's message."""
    button = browser.find_element(By.ID, button_id)
    browser.execute_script("arguments[0].scrollIntoView()", button)
    click_and_wait_for_next_page(browser, button, timeout=60)
    message = WebDriverWait(browser, 30).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "main p.ok, main p.err"))
    )
    return str(message.text)


@pytest.mark.usefixtures("eager_celery")
def test_a_head_signs_an_apology_on_a_phone(
    live_server: object, data_dirs: DataDirs, make_dossier: MakeDossier, head: User
) -> None:
    dossier: Dossier = make_dossier(received_at=timezone.now() - timedelta(days=20)).dossier
    letter = draft_letter(dossier, LetterForm.APOLOGY, reason="", late_due=dossier.due_at)
    new_day = CalendarDay.work_calendar().add_working_days(to_vn(timezone.now()).date(), 3)
    client = signed_in(head)
    base = str(live_server)
    with chromium(PHONE) as browser:
        sign_in(browser, base, client.cookies["sessionid"].value)
        browser.get(f"{base}/ho-so/{dossier.code}/")
        _fits(browser, "dossier page")
        letters = browser.find_element(By.ID, "letters")
        assert "Dự thảo" in letters.text
        letters.find_element(By.LINK_TEXT, "Xem, sửa và ký").click()
        WebDriverWait(browser, 10).until(expected_conditions.url_contains("/van-ban/"))
        _fits(browser, "letter page")

        Select(browser.find_element(By.ID, "id_ly_do")).select_by_index(0)
        day = browser.find_element(By.ID, "id_ngay_hen")
        browser.execute_script("arguments[0].value = arguments[1]", day, new_day.isoformat())
        assert "Đã cập nhật lý do" in _submit(browser, "save-apology")
        _fits(browser, "after the apology's details")
        assert "Hồ sơ cần xác minh thêm" in browser.find_element(By.ID, "noi-dung").text

        assert "Đã duyệt nội dung" in _submit(browser, "approve")
        assert browser.find_element(By.ID, "letter-pdf").is_displayed()
        _fits(browser, "approved")

        browser.find_element(By.ID, "passphrase").send_keys("sai-mat-khau")
        assert "Mật khẩu khóa ký không đúng" in _submit(browser, "sign")
        assert browser.find_element(By.ID, "letter-state").text == "Đã duyệt nội dung"
        _fits(browser, "wrong passphrase")

        browser.find_element(By.ID, "passphrase").send_keys(TEST_PASSPHRASE.decode())
        assert "Đã ký số văn bản" in _submit(browser, "sign")
        assert browser.find_element(By.ID, "letter-state").text in ("Đã ký số", "Đã gửi công dân")
        assert not browser.find_elements(By.ID, "passphrase")
        _fits(browser, "signed")
    letter.refresh_from_db()
    assert letter.state in (Letter.State.SIGNED, Letter.State.SENT)
    dossier.refresh_from_db()
    assert to_vn(dossier.due_at).date() == new_day
