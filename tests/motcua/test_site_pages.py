"""The site's frame: the menu shows each person only their work, and errors (403, 404, 500,
CSRF) answer in Vietnamese within the site's layout, also in a phone's browser."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path
from selenium.webdriver.common.by import By

from dossiers.models import Membership, Office, Role
from tests.conftest import DataDirs
from tests.conftest import sign_in as client_sign_in
from tests.support.browser import DESKTOP, PHONE, chromium, overflows_horizontally, sign_in


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("loi/", _boom), path("", include("motcua.urls"))]


def _page(client: Client, url: str) -> tuple[int, str]:
    response = client.get(url)
    return response.status_code, response.content.decode()


def test_menu_offers_each_role_only_its_pages(
    client: Client, data_dirs: DataDirs, clerk: User, official: User, office: Office
) -> None:
    """A clerk is offered registration, not signing; an official signing, not registration;
    a head neither; nobody who is not staff the admin."""
    head = User.objects.create_user("thutruong")
    Membership.objects.create(user=head, office=office, role=Role.HEAD)
    offered = {}
    for user in (clerk, official, head):
        client_sign_in(client, user)
        status, html = _page(client, "/")
        assert status == 200
        offered[user.username] = {
            name for name in ("/tiep-nhan/", '/ky-duyet/"', "/quan-tri/") if f'href="{name}' in html
        }
    assert offered == {"vanthu": {"/tiep-nhan/"}, "lanhdao": {'/ky-duyet/"'}, "thutruong": set()}


def test_forbidden_and_missing_pages_speak_vietnamese(
    client: Client, data_dirs: DataDirs, official: User
) -> None:
    """An official opening the clerk's registration reads why, in Vietnamese, in the layout;
    an unknown address gets the site's 404 page, not Django's English one."""
    client_sign_in(client, official)
    status, html = _page(client, "/tiep-nhan/")
    assert status == 403
    assert "Không có quyền truy cập" in html and "cán bộ tiếp nhận" in html
    assert "Đăng xuất" in html and "Forbidden" not in html
    status, html = _page(client, "/khong-co-trang-nay/")
    assert status == 404
    assert "Không tìm thấy trang" in html and "Not Found" not in html


def test_a_stale_form_gets_the_vietnamese_csrf_page(data_dirs: DataDirs, clerk: User) -> None:
    """A form posted without its CSRF token is refused with advice, not Django's page."""
    client = Client(enforce_csrf_checks=True)
    client_sign_in(client, clerk)
    response = client.post("/tiep-nhan/", {"code": "HS-1"})
    html = response.content.decode()
    assert response.status_code == 403
    assert "Phiên làm việc đã hết hạn" in html and "CSRF verification failed" not in html


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_answers_in_vietnamese(data_dirs: DataDirs) -> None:
    """A bug answers 500 with the site's page in Vietnamese and no traceback."""
    client = Client(raise_request_exception=False)
    status, html = _page(client, "/loi/")
    assert status == 500
    assert "Lỗi hệ thống" in html and "Traceback" not in html and "a bug" not in html


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_signed_in_header_fits_a_phone(
    size: tuple[int, int], live_server: object, data_dirs: DataDirs, office: Office
) -> None:
    """Signed in, the header wraps: the page never scrolls sideways and "Đăng xuất" is on
    screen, at a phone's width as at a desktop's."""
    user = User.objects.create_user(
        "nguyen-thi-thanh-huong-van-thu", first_name="Nguyễn Thị Thanh Hương"
    )
    for role in (Role.CLERK, Role.OFFICIAL):
        Membership.objects.create(user=user, office=office, role=role)
    client = Client()
    client_sign_in(client, user)
    base = str(live_server)
    with chromium(size) as browser:
        sign_in(browser, base, client.cookies["sessionid"].value)
        browser.get(f"{base}/ky-duyet/")
        logout = browser.find_element(By.XPATH, "//header//button[contains(., 'Đăng xuất')]")
        right = browser.execute_script("return arguments[0].getBoundingClientRect().right", logout)
        assert float(right) <= size[0]
        assert not overflows_horizontally(browser)
