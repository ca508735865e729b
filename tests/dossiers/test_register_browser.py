"""A clerk registers a dossier in real headless Chromium, on a phone and on a desktop."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from dossiers.models import Dossier, Office, Procedure
from tests.conftest import DataDirs
from tests.conftest import sign_in as client_sign_in
from tests.support.browser import DESKTOP, PHONE, chromium, overflows_horizontally, sign_in


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_clerk_registers_and_reaches_the_confirmation(
    size: tuple[int, int],
    live_server: object,
    data_dirs: DataDirs,
    clerk: User,
    office: Office,
    procedure: Procedure,
) -> None:
    """The form fits the screen; a bad phone is refused in Vietnamese; once corrected, the
    confirmation shows the generated code with its print and next-dossier buttons on screen."""
    office.agency_code = "000.00.14.H56"
    office.save()
    client = Client()
    client_sign_in(client, clerk)
    base = str(live_server)
    with chromium(size) as browser:
        sign_in(browser, base, client.cookies["sessionid"].value)
        browser.get(f"{base}/tiep-nhan/")
        assert not overflows_horizontally(browser)
        Select(browser.find_element(By.NAME, "office")).select_by_visible_text(office.name)
        Select(browser.find_element(By.NAME, "procedure")).select_by_value(str(procedure.pk))
        browser.find_element(By.NAME, "applicant_name").send_keys("Lương Thị Thu")
        browser.find_element(By.NAME, "phone").send_keys("abc")
        browser.find_element(By.CSS_SELECTOR, "#register-form button").click()
        WebDriverWait(browser, 20).until(lambda b: "không hợp lệ" in b.page_source)
        assert not Dossier.objects.exists()
        phone = browser.find_element(By.NAME, "phone")
        phone.clear()
        phone.send_keys("+84 912 345 678")
        browser.find_element(By.CSS_SELECTOR, "#register-form button").click()
        WebDriverWait(browser, 20).until(lambda b: "/tiep-nhan/xac-nhan/" in b.current_url)
        code = browser.find_element(By.ID, "dossier-code").text
        assert re.fullmatch(r"000\.00\.14\.H56-\d{6}-0001", code)
        assert Dossier.objects.get().code == code
        assert "Lương Thị Thu" in browser.page_source
        assert not overflows_horizontally(browser)
        for button in ("print-receipt", "reprint-receipt", "next-dossier"):
            element = browser.find_element(By.ID, button)
            box = browser.execute_script(
                "return arguments[0].getBoundingClientRect().right", element
            )
            assert element.is_displayed() and float(box) <= size[0]
        browser.find_element(By.ID, "next-dossier").click()
        WebDriverWait(browser, 20).until(lambda b: "/tiep-nhan/?" in b.current_url)
        chosen = Select(browser.find_element(By.NAME, "procedure")).first_selected_option
        assert chosen.get_attribute("value") == str(procedure.pk)
