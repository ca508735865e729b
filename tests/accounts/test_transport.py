"""HTTPS when not in debug mode: Secure cookies, HSTS, the proxy header only from trusted
proxies; plain http on a district's loopback still works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from tests.accounts.conftest import OFFICIAL_ADDRESS, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
NAMES = (
    "DEBUG",
    "HTTPS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SECURE_HSTS_SECONDS",
    "SECURE_SSL_REDIRECT",
)


def _settings(tmp_path: Path, **env: str) -> dict[str, Any]:
    """The settings a process started with ``env`` (and nothing else of motcua's) reads."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    clean.update(MOTCUA_DATA_DIR=str(tmp_path), **env)
    probe = (
        "import json, motcua.settings as s\n"
        f"names = {NAMES!r}\n"
        "out = {n: getattr(s, n) for n in names}\n"
        "out['PROXY'] = getattr(s, 'SECURE_PROXY_SSL_HEADER', None)\n"
        "print(json.dumps(out))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_a_public_https_address_turns_on_secure_cookies_and_hsts(tmp_path: Path) -> None:
    """Behind one trusted proxy with an https:// public address: every protection on."""
    found = _settings(
        tmp_path, MOTCUA_PUBLIC_URL="https://motcua.example.gov.vn", MOTCUA_TRUSTED_PROXIES="1"
    )
    assert found["DEBUG"] is False and found["HTTPS"] is True
    assert found["SESSION_COOKIE_SECURE"] and found["CSRF_COOKIE_SECURE"]
    assert found["SESSION_COOKIE_HTTPONLY"] and found["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert found["SECURE_HSTS_SECONDS"] >= 180 * 24 * 3600
    assert found["PROXY"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert found["SECURE_SSL_REDIRECT"] is True


def test_the_proxy_header_is_believed_only_from_configured_proxies(tmp_path: Path) -> None:
    """Without MOTCUA_TRUSTED_PROXIES nobody may claim HTTPS by a header (nor get redirected
    in a loop), yet cookies stay Secure."""
    found = _settings(tmp_path, MOTCUA_PUBLIC_URL="https://motcua.example.gov.vn")
    assert found["PROXY"] is None and found["SECURE_SSL_REDIRECT"] is False
    assert found["SESSION_COOKIE_SECURE"] and found["SECURE_HSTS_SECONDS"] > 0


@pytest.mark.parametrize(
    "env",
    [{}, {"MOTCUA_PUBLIC_URL": "https://motcua.example.gov.vn", "MOTCUA_HTTPS": "off"}],
    ids=["district-loopback", "explicitly-off"],
)
def test_plain_http_on_a_district_machine_keeps_working(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """``motcua run`` on http://127.0.0.1: cookies that a plain-http browser sends back."""
    found = _settings(tmp_path, **env)
    assert found["HTTPS"] is False and found["SESSION_COOKIE_SECURE"] is False
    assert found["SECURE_HSTS_SECONDS"] == 0 and found["PROXY"] is None


@override_settings(
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_cookies_over_https_are_secure_httponly_and_same_site(
    client: Client, clerk_with_password: User
) -> None:
    """The session cookie set at sign-in is Secure, HttpOnly and SameSite=Lax; the answer
    carries HSTS when the trusted proxy says the request came over HTTPS."""
    client.get("/dang-nhap/", HTTP_X_FORWARDED_PROTO="https")
    response = client.post(
        "/dang-nhap/",
        {"username": "vanthu", "password": PASSWORD},
        REMOTE_ADDR=OFFICIAL_ADDRESS,
        HTTP_X_FORWARDED_PROTO="https",
    )
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert client.cookies["csrftoken"]["secure"]
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
