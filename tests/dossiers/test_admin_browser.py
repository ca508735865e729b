"""In real headless Chromium: an office's administrator adds a procedure in the admin, in
Vietnamese, and can choose only their own offices."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from dossiers.models import Membership, Office, Procedure, Role
from tests.conftest import DataDirs, sign_in
from tests.support.browser import DESKTOP, PHONE, chromium, overflows_horizontally
from tests.support.browser import sign_in as browser_sign_in


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_an_office_administrator_adds_a_procedure(
    size: tuple[int, int], live_server: object, data_dirs: DataDirs, office: Office
) -> None:
    """The form offers the administrator's office and not another; the new procedure is
    saved with its limit and field, and the list shows it."""
    elsewhere = Office.objects.create(code="xa-khac", name="UBND xã Khác")
    admin = User.objects.create_user("quantri-xa", is_staff=True)
    Membership.objects.create(user=admin, office=office, role=Role.ADMIN)
    client = Client()
    sign_in(client, admin)
    base = str(live_server)
    with chromium(size) as browser:
        browser_sign_in(browser, base, client.cookies["sessionid"].value)
        browser.get(f"{base}/quan-tri/dossiers/procedure/add/")
        assert "Thêm thủ tục hành chính" in browser.page_source
        offices = Select(browser.find_element(By.ID, "id_office"))
        offered = {option.text for option in offices.options}
        assert office.name in offered and elsewhere.name not in offered
        offices.select_by_visible_text(office.name)
        browser.find_element(By.ID, "id_code").send_keys("HT-KHAITU")
        browser.find_element(By.ID, "id_name").send_keys("Đăng ký khai tử")
        browser.find_element(By.ID, "id_field").send_keys("Hộ tịch")
        browser.find_element(By.ID, "id_limit_working_days").send_keys("2")
        browser.find_element(By.NAME, "_save").click()
        WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/procedure/"))
        assert "Đăng ký khai tử" in browser.page_source
        assert not overflows_horizontally(browser)
    procedure = Procedure.objects.get(code="HT-KHAITU")
    assert procedure.office == office and procedure.limit_working_days == 2
    assert procedure.field == "Hộ tịch"
