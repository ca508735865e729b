"""The citizen portal in a real headless Chromium, at a phone's and a desktop's width."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from publishing.services.rating import rating_link
from signing.devpki import IssuedKey
from tests.conftest import DataDirs
from tests.publishing.conftest import Published
from tests.support.browser import DESKTOP, PHONE, chromium, overflows_horizontally

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clear_cache"),
    # the live server starts once per session, before a test's data directory exists; the
    # pages carry their styles inline, so a missing static folder changes nothing here
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@SIZES
def test_a_citizen_looks_up_and_downloads_the_result(
    size: tuple[int, int],
    live_server: object,
    published: Published,
) -> None:
    """From the receipt's QR link: the code is filled in, the secret typed as printed (in
    groups, small letters), the status read, the result downloaded once; nothing overflows."""
    dossier, secret, signed_result = published.dossier, published.secret, published.pdf
    base = str(live_server)
    with chromium(size) as browser:
        browser.get(f"{base}/tra-cuu/?ma={dossier.code}")
        code = browser.find_element(By.ID, "id_code")
        assert code.get_attribute("value") == dossier.code
        typed = browser.find_element(By.ID, "id_secret")
        assert typed.get_attribute("type") == "text"  # visible: a typo can be seen
        typed.send_keys(secret.lower())
        shown = typed.get_attribute("value") or ""
        assert shown.replace(" ", "") == secret and shown.count(" ") == 7  # groups of four
        assert not overflows_horizontally(browser)
        browser.find_element(By.CSS_SELECTOR, "main form button").click()
        WebDriverWait(browser, 10).until(
            expected_conditions.presence_of_element_located((By.ID, "status"))
        )
        assert "Đã có kết quả" in browser.find_element(By.ID, "status").text
        assert dossier.procedure.name in browser.page_source
        assert secret not in browser.page_source
        assert not overflows_horizontally(browser)
        link = browser.find_element(By.ID, "download").get_attribute("href") or ""
    status, body = _fetch(link)
    assert status == 200 and body == signed_result
    assert _fetch(link)[0] == 410, "a download link works once"


@SIZES
def test_anyone_checks_a_signed_result(
    size: tuple[int, int],
    live_server: object,
    data_dirs: DataDirs,
    published: Published,
    throwaway_pki: IssuedKey,
    tmp_path: Path,
) -> None:
    """A PDF chosen in the verification page: issued by this office and unchanged."""
    shutil.copyfile(throwaway_pki.ca_cert, data_dirs.trust / "ca.pem")
    upload = tmp_path / "ket-qua.pdf"
    upload.write_bytes(published.pdf)
    with chromium(size) as browser:
        browser.get(f"{live_server}/kiem-tra/")
        browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(upload))
        browser.find_element(By.CSS_SELECTOR, "main form button").click()
        WebDriverWait(browser, 20).until(
            expected_conditions.text_to_be_present_in_element(
                (By.TAG_NAME, "main"), "do hệ thống phát hành"
            )
        )
        assert not overflows_horizontally(browser)


@SIZES
def test_a_citizen_rates_the_service_once(
    size: tuple[int, int],
    live_server: object,
    published: Published,
) -> None:
    """The link from the email opens the form; the answer is recorded, and shown again."""
    link = rating_link(published.dossier)
    assert link is not None
    path = link[link.index("/danh-gia/") :]
    with chromium(size) as browser:
        browser.get(f"{live_server}{path}")
        browser.find_element(By.CSS_SELECTOR, "input[value=satisfied]").click()
        browser.find_element(By.ID, "id_comment").send_keys("Cán bộ hướng dẫn tận tình.")
        assert not overflows_horizontally(browser)
        browser.find_element(By.CSS_SELECTOR, "form.rate button").click()
        WebDriverWait(browser, 10).until(
            expected_conditions.presence_of_element_located((By.ID, "recorded"))
        )
        assert browser.find_element(By.ID, "recorded").text == "Hài lòng"
        browser.get(f"{live_server}{path}")
        assert browser.find_element(By.ID, "recorded").text == "Hài lòng"
        assert not browser.find_elements(By.CSS_SELECTOR, "form.rate")


def test_the_lookup_page_in_english_on_a_phone(live_server: object) -> None:
    """The language switch turns the page into English, and it still fits a phone."""
    with chromium(PHONE) as browser:
        browser.get(f"{live_server}/tra-cuu/")
        browser.find_element(By.CSS_SELECTOR, "form.lang button[value=en]").click()
        WebDriverWait(browser, 10).until(
            expected_conditions.text_to_be_present_in_element(
                (By.TAG_NAME, "h1"), "Look up a dossier"
            )
        )
        assert "Lookup secret" in browser.page_source
        assert not overflows_horizontally(browser)
