"""Sessions: a short sliding idle timeout for second-factor roles, a working day for clerks."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.conftest import OFFICIAL_ADDRESS, PASSWORD, code


def _age(client: Client) -> float:
    row = Session.objects.get(session_key=client.session.session_key)
    return (row.expire_date - timezone.now()).total_seconds()


def test_an_officials_session_ends_after_fifteen_idle_minutes(
    client: Client, authenticator: TOTPDevice, official_with_password: User
) -> None:
    """Signed in with both factors, the official's session expires 15 minutes after the last
    request, each request starting the time again; an expired session signs in anew."""
    client.post(
        "/dang-nhap/", {"username": "lanhdao", "password": PASSWORD}, REMOTE_ADDR=OFFICIAL_ADDRESS
    )
    client.post("/dang-nhap/xac-thuc/", {"code": code(authenticator)})
    assert 14 * 60 < _age(client) <= 15 * 60
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=2)
    )
    assert client.get("/ky-duyet/").status_code == 200
    assert 14 * 60 < _age(client) <= 15 * 60  # slid forward
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get("/ky-duyet/")
    assert response.status_code == 302 and response["Location"].startswith("/dang-nhap/?next=")


def test_a_clerks_session_lasts_a_working_day(client: Client, clerk_with_password: User) -> None:
    """A clerk is not signed out every quarter hour: nine hours idle, never fourteen days."""
    client.post(
        "/dang-nhap/", {"username": "vanthu", "password": PASSWORD}, REMOTE_ADDR=OFFICIAL_ADDRESS
    )
    client.get("/ky-duyet/tu-choi/")
    assert 8.9 * 3600 < _age(client) <= 9 * 3600
