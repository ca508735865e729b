"""Password guessing is throttled per username and address; an attacker elsewhere cannot lock
out the official's own address, and X-Forwarded-For counts only from trusted proxies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone

from tests.accounts.conftest import ATTACKER_ADDRESS, OFFICIAL_ADDRESS, PASSWORD


def _login(client: Client, username: str, password: str, address: str, **extra: Any) -> int:
    response = client.post(
        "/dang-nhap/", {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )
    return int(response.status_code)


def test_fifty_wrong_passwords_then_the_right_one_is_refused(
    client: Client, clerk_with_password: User
) -> None:
    """The observed attack: after the limit, even the right password waits (429, Vietnamese
    page saying when to try again), and the password is stored nowhere."""
    statuses = [_login(client, "vanthu", f"sai-{i}", ATTACKER_ADDRESS) for i in range(50)]
    assert statuses[:4] == [200] * 4  # the form again, with its error
    assert set(statuses[5:]) == {429}
    response = client.post(
        "/dang-nhap/", {"username": "vanthu", "password": PASSWORD}, REMOTE_ADDR=ATTACKER_ADDRESS
    )
    assert response.status_code == 429
    html = response.content.decode()
    assert "Tạm khóa đăng nhập" in html and "thử lại sau" in html
    assert "_auth_user_id" not in client.session
    stored = " ".join(str(row) for row in AccessAttempt.objects.values_list())
    assert "sai-1" not in stored and PASSWORD not in stored


def test_an_attacker_elsewhere_cannot_lock_out_the_officials_address(
    client: Client, clerk_with_password: User
) -> None:
    """Wrong passwords from the attacker's address lock that pair only: the person signs in
    from their own address at once."""
    for i in range(10):
        _login(client, "vanthu", f"doan-{i}", ATTACKER_ADDRESS)
    assert _login(client, "vanthu", PASSWORD, ATTACKER_ADDRESS) == 429

    own = Client()
    response = own.post(
        "/dang-nhap/", {"username": "vanthu", "password": PASSWORD}, REMOTE_ADDR=OFFICIAL_ADDRESS
    )
    assert response.status_code == 302
    assert own.session["_auth_user_id"] == str(clerk_with_password.pk)


def test_a_forged_forwarded_header_is_not_believed_without_trusted_proxies(
    client: Client, clerk_with_password: User
) -> None:
    """Without MOTCUA_TRUSTED_PROXIES the attacker's X-Forwarded-For naming the official's
    address counts against the attacker's own address."""
    for i in range(6):
        _login(
            client, "vanthu", f"doan-{i}", ATTACKER_ADDRESS, HTTP_X_FORWARDED_FOR=OFFICIAL_ADDRESS
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER_ADDRESS}
    assert _login(Client(), "vanthu", PASSWORD, OFFICIAL_ADDRESS) == 302


@override_settings(TRUSTED_PROXIES=1)
def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(
    client: Client, clerk_with_password: User
) -> None:
    """With one trusted proxy, the address it saw is the one locked; others through the same
    proxy still sign in."""
    proxy = "10.0.0.1"
    for i in range(6):
        _login(client, "vanthu", f"doan-{i}", proxy, HTTP_X_FORWARDED_FOR=ATTACKER_ADDRESS)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER_ADDRESS}
    assert _login(Client(), "vanthu", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=ATTACKER_ADDRESS) == 429
    assert _login(Client(), "vanthu", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=OFFICIAL_ADDRESS) == 302


def test_the_lock_ends_after_the_cool_off(client: Client, clerk_with_password: User) -> None:
    """Once the cool-off has passed since the last wrong password, the right one works."""
    for i in range(5):
        _login(client, "vanthu", f"doan-{i}", ATTACKER_ADDRESS)
    assert _login(client, "vanthu", PASSWORD, ATTACKER_ADDRESS) == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _login(client, "vanthu", PASSWORD, ATTACKER_ADDRESS) == 302
