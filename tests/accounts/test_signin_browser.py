"""In real headless Chromium: an official signs in with a password and an authenticator code,
reaches the batches awaiting signature and signs one, at a phone's and a desktop's width."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dossiers.models import DocumentState, Dossier
from tests.accounts.conftest import PASSWORD, code
from tests.conftest import MakeAwaiting
from tests.support.browser import DESKTOP, PHONE, chromium, overflows_horizontally
from tests.support.pki import TEST_PASSPHRASE


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_an_official_signs_in_with_a_code_and_reaches_the_batches(
    size: tuple[int, int],
    live_server: object,
    authenticator: TOTPDevice,
    official_with_password: User,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """Password, then the code step (nothing of the back office before it), then the list."""
    make_awaiting(dossier)
    base = str(live_server)
    with chromium(size) as browser:
        browser.get(f"{base}/ky-duyet/")
        assert "/dang-nhap/" in browser.current_url
        browser.find_element(By.ID, "id_username").send_keys("lanhdao")
        browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
        browser.find_element(By.XPATH, "//main//button").click()
        WebDriverWait(browser, 10).until(lambda b: "/dang-nhap/xac-thuc/" in b.current_url)
        assert "Xác thực hai lớp" in browser.page_source
        assert not overflows_horizontally(browser)

        browser.find_element(By.ID, "id_code").send_keys(code(authenticator))
        browser.find_element(By.XPATH, "//main//button").click()
        WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/ky-duyet/"))
        heading = browser.find_element(By.TAG_NAME, "h1").text
        assert heading == "Lô chờ ký duyệt"
        assert dossier.office.name in browser.page_source
        assert not overflows_horizontally(browser)


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
def test_an_official_approves_and_signs_a_batch_after_the_second_factor(
    live_server: object,
    authenticator: TOTPDevice,
    official_with_password: User,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """The whole of an official's task at a phone's width: password, code, the batch, the
    key's passphrase typed once; the document comes out signed, nothing scrolls sideways."""
    document = make_awaiting(dossier)
    base = str(live_server)
    with (
        mock.patch("publishing.services.publication.enqueue") as publish,
        chromium(PHONE) as browser,
    ):
        browser.get(f"{base}/ky-duyet/")
        browser.find_element(By.ID, "id_username").send_keys("lanhdao")
        browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
        browser.find_element(By.XPATH, "//main//button").click()
        WebDriverWait(browser, 10).until(lambda b: "/dang-nhap/xac-thuc/" in b.current_url)
        browser.find_element(By.ID, "id_code").send_keys(code(authenticator))
        browser.find_element(By.XPATH, "//main//button").click()
        WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/ky-duyet/"))
        browser.find_element(By.XPATH, "//main//table//a").click()
        WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.ID, "passphrase"))
        assert dossier.code in browser.page_source
        assert not overflows_horizontally(browser)
        browser.find_element(By.ID, "passphrase").send_keys(TEST_PASSPHRASE.decode())
        browser.find_element(By.XPATH, "//button[@name='action' and @value='sign']").click()

        def signed(_: object) -> bool:
            document.refresh_from_db()
            return document.state == DocumentState.SIGNED

        WebDriverWait(browser, 60, poll_frequency=0.5).until(signed)
        assert not overflows_horizontally(browser)
    assert publish.called
    assert document.signed_sha256
