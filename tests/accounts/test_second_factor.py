"""TOTP for officials, heads and administrators: enrolment, the code after the password, backup
codes, resets; without a verified second factor no signing page and no admin."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services.second_factor import make_backup_codes
from tests.accounts.conftest import OFFICIAL_ADDRESS, PASSWORD, code


def _password(client: Client, username: str, next_url: str = "") -> str:
    response = client.post(
        f"/dang-nhap/{'?next=' + next_url if next_url else ''}",
        {"username": username, "password": PASSWORD},
        REMOTE_ADDR=OFFICIAL_ADDRESS,
    )
    assert response.status_code == 302
    return str(response["Location"])


def test_an_official_enrols_an_authenticator_then_signs(
    client: Client, official_with_password: User
) -> None:
    """First sign-in: the password leads to enrolment (inline SVG QR, otpauth URI); a code
    from the app confirms it, shows backup codes once, and opens the signing pages."""
    location = _password(client, "lanhdao", "/ky-duyet/")
    assert location.startswith("/dang-nhap/cai-dat-xac-thuc/")
    page = client.get(location).content.decode()
    assert "<svg" in page and "otpauth://totp/" in page and "<img" not in page
    device = TOTPDevice.objects.get(user=official_with_password, confirmed=False)
    assert client.get("/ky-duyet/").status_code == 302  # not before the code

    wrong = client.post(location, {"code": "000000" if code(device) != "000000" else "111111"})
    assert wrong.status_code == 400 and "Mã chưa đúng" in wrong.content.decode()
    TOTPDevice.objects.get(pk=device.pk).throttle_reset()  # django-otp's 1 s after a wrong one
    response = client.post(location, {"code": code(device, 1), "next": "/ky-duyet/"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Mã dự phòng" in html and "no-store" in response["Cache-Control"]
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert StaticToken.objects.filter(device__user=official_with_password).count() == 10
    assert client.get("/ky-duyet/").status_code == 200


def test_without_the_code_neither_signing_nor_the_admin_opens(
    client: Client, authenticator: TOTPDevice, official_with_password: User
) -> None:
    """Password alone: every back-office page, the admin too, sends to the code step."""
    official_with_password.is_staff = True
    official_with_password.save()
    location = _password(client, "lanhdao", "/ky-duyet/")
    assert location.startswith("/dang-nhap/xac-thuc/")
    for page in ("/ky-duyet/", "/quan-tri/", "/ky-duyet/tu-choi/", "/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/dang-nhap/xac-thuc/?next=")
    assert client.get("/healthz").status_code == 200


def test_the_code_step_rotates_the_session_and_opens_the_admin(
    client: Client, authenticator: TOTPDevice, official_with_password: User
) -> None:
    """The session key changes at the password and again at the code; then the admin opens
    for a staff official, and the same code cannot be used twice."""
    official_with_password.is_staff = True
    official_with_password.is_superuser = True
    official_with_password.save()
    client.get("/dang-nhap/")
    anonymous_key = client.session.session_key
    _password(client, "lanhdao")
    password_key = client.session.session_key
    assert password_key != anonymous_key

    wrong = client.post("/dang-nhap/xac-thuc/", {"code": "12345"})
    assert wrong.status_code == 400 and "Mã xác thực không đúng" in wrong.content.decode()
    authenticator.throttle_reset()
    used = code(authenticator)
    response = client.post("/dang-nhap/xac-thuc/", {"code": used, "next": "/quan-tri/"})
    assert response.status_code == 302 and response["Location"] == "/quan-tri/"
    assert client.session.session_key != password_key
    assert client.get("/quan-tri/").status_code == 200

    again = Client()
    _password(again, "lanhdao")
    assert again.post("/dang-nhap/xac-thuc/", {"code": used}).status_code == 400


def test_a_backup_code_works_once_and_is_not_stored_as_shown(
    client: Client, authenticator: TOTPDevice, official_with_password: User
) -> None:
    """A lost phone: a backup code passes the step once; the database holds only hashes."""
    codes = make_backup_codes(official_with_password)
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert not stored & {c for c in codes} and not stored & {c.replace("-", "") for c in codes}

    _password(client, "lanhdao")
    response = client.post("/dang-nhap/xac-thuc/", {"code": codes[0].upper()})
    assert response.status_code == 302
    assert client.get("/ky-duyet/").status_code == 200

    other = Client()
    _password(other, "lanhdao")
    assert other.post("/dang-nhap/xac-thuc/", {"code": codes[0]}).status_code == 400
    assert StaticToken.objects.count() == 9


def test_a_head_who_signs_letters_needs_the_second_factor_too(client: Client, head: User) -> None:
    """Heads sign apology and other letters for the state: the password alone leads to
    enrolment, not to their pages."""
    head.set_password(PASSWORD)
    head.save()
    location = _password(client, head.username, "/thong-ke/")
    assert location.startswith("/dang-nhap/cai-dat-xac-thuc/")
    response = client.get("/thong-ke/")
    assert response.status_code == 302
    assert response["Location"].startswith("/dang-nhap/cai-dat-xac-thuc/?next=")


def test_a_clerk_signs_in_with_a_password_alone(client: Client, clerk_with_password: User) -> None:
    """Clerks need no second factor: the password leads to their pages."""
    location = _password(client, "vanthu", "/ky-duyet/tu-choi/")
    assert location == "/ky-duyet/tu-choi/"
    assert client.get(location).status_code == 200


def test_an_administrator_resets_a_lost_phone(
    client: Client, authenticator: TOTPDevice, official_with_password: User
) -> None:
    """After a reset (admin action or command) the official enrols again at the next sign-in."""
    make_backup_codes(official_with_password)
    admin = User.objects.create_superuser("quantri-test", "qt@example.vn", PASSWORD)
    admin_client = Client()
    admin_device = TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    _password(admin_client, "quantri-test")
    assert (
        admin_client.post("/dang-nhap/xac-thuc/", {"code": code(admin_device)}).status_code == 302
    )
    response = admin_client.post(
        "/quan-tri/auth/user/",
        {"action": "reset_second_factors", "_selected_action": [official_with_password.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=official_with_password).exists()
    assert not StaticToken.objects.filter(device__user=official_with_password).exists()
    assert _password(client, "lanhdao").startswith("/dang-nhap/cai-dat-xac-thuc/")

    TOTPDevice.objects.create(user=official_with_password, name="moi", confirmed=True)
    call_command("reset_second_factor", "lanhdao")
    assert not TOTPDevice.objects.filter(user=official_with_password).exists()
