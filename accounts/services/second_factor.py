"""The second factor: a TOTP authenticator app, backup codes for a lost phone, and resets.

Officials, heads, administrators and superusers
(:func:`dossiers.services.access.needs_second_factor`) prove a code from an authenticator app
after their password. Each person has at most one confirmed app (a ``TOTPDevice``) and one
set of single-use backup codes (a ``StaticDevice``). The backup codes are stored as keyed
hashes, never as they are shown: a copy of the database does not give them away.
django-otp slows down wrong codes per device (1, 2, 4, 8 … seconds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from base64 import b32encode
from dataclasses import dataclass

import segno
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django_otp import verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

__all__ = [
    "BACKUP_CODES",
    "Enrolment",
    "Verification",
    "confirm_enrolment",
    "has_second_factor",
    "is_verified",
    "make_backup_codes",
    "remaining_backup_codes",
    "reset_second_factor",
    "start_enrolment",
    "verify_code",
]

AnyUser = AbstractBaseUser | AnonymousUser

BACKUP_CODES = 10
"""Backup codes made at a time; each works once."""
APP_NAME = "Ứng dụng xác thực"
BACKUP_NAME = "Mã dự phòng"


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the QR code, the otpauth URI and the secret typed by hand."""

    device: TOTPDevice
    uri: str
    secret: str
    qr_svg: str


@dataclass(frozen=True)
class Verification:
    """The outcome of a code: the device that accepted it, or when to try again."""

    device: Device | None
    retry_at: dt.datetime | None = None


def is_verified(user: AnyUser | None) -> bool:
    """Whether this request's session proved a second factor (set by django-otp's middleware)."""
    check = getattr(user, "is_verified", None)
    return bool(callable(check) and check())


def has_second_factor(user: AnyUser) -> bool:
    """Whether the user has a confirmed authenticator app."""
    return bool(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists())


def start_enrolment(user: AbstractBaseUser) -> Enrolment:
    """The user's pending (unconfirmed) authenticator, made once and shown until confirmed."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_NAME, confirmed=False)
    uri = str(device.config_url)
    secret = b32encode(device.bin_key).decode("ascii")
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    qr = segno.make(uri, error="m")
    return Enrolment(device=device, uri=uri, secret=grouped, qr_svg=qr.svg_inline(scale=4))


def confirm_enrolment(user: AbstractBaseUser, code: str) -> TOTPDevice | None:
    """Confirm the pending authenticator with a code from it; it replaces any older one."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("pk").first()
    if device is None:
        return None
    with transaction.atomic():
        accepted = verify_token(user, device.persistent_id, _digits(code))
        if accepted is None:
            return None
        TOTPDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    device.refresh_from_db()
    return device


def make_backup_codes(user: AbstractBaseUser, count: int = BACKUP_CODES) -> list[str]:
    """New backup codes for the user, replacing the old ones; shown once, stored hashed."""
    codes = [_backup_code() for _ in range(count)]
    with transaction.atomic():
        StaticDevice.objects.filter(user_id=user.pk).delete()
        device = StaticDevice.objects.create(user=user, name=BACKUP_NAME, confirmed=True)
        StaticToken.objects.bulk_create(
            [StaticToken(device=device, token=_backup_digest(code)) for code in codes]
        )
    return codes


def remaining_backup_codes(user: AbstractBaseUser) -> int:
    """How many backup codes the user has left."""
    return int(StaticToken.objects.filter(device__user_id=user.pk, device__confirmed=True).count())


def verify_code(user: AbstractBaseUser, code: str) -> Verification:
    """Check a code from the app (6 digits) or a backup code against the user's devices."""
    digits = _digits(code)
    if digits.isdigit() and len(digits) in (6, 8):
        devices: list[Device] = list(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True))
        token = digits
    else:
        devices = list(StaticDevice.objects.filter(user_id=user.pk, confirmed=True))
        token = _backup_digest(code)
    retry_at: dt.datetime | None = None
    for device in devices:
        allowed, details = device.verify_is_allowed()
        if not allowed:
            locked = (details or {}).get("locked_until")
            retry_at = max(filter(None, (retry_at, locked)), default=None)
            continue
        accepted = verify_token(user, device.persistent_id, token)
        if accepted is not None:
            return Verification(device=accepted)
        device.refresh_from_db()
        _allowed, details = device.verify_is_allowed()
        locked = (details or {}).get("locked_until")
        retry_at = max(filter(None, (retry_at, locked)), default=None)
    return Verification(device=None, retry_at=retry_at)


def reset_second_factor(user: AbstractBaseUser) -> int:
    """Remove the user's authenticator and backup codes (a lost phone); they enrol again
    at their next sign-in. Returns how many devices were removed."""
    with transaction.atomic():
        removed, _ = TOTPDevice.objects.filter(user_id=user.pk).delete()
        backups = StaticDevice.objects.filter(user_id=user.pk)
        count = int(backups.count())
        backups.delete()
    return int(removed) + count


def _digits(code: str) -> str:
    return "".join(code.split())


def _backup_code() -> str:
    """Ten letters and digits in two groups (50 bits), easy to read aloud and type."""
    raw = b32encode(secrets.token_bytes(10)).decode("ascii").lower()[:10]
    return f"{raw[:5]}-{raw[5:]}"


def _backup_digest(code: str) -> str:
    """The stored form of a backup code: a keyed hash (16 hex digits), never the code."""
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    key = f"motcua.accounts.backup:{settings.SECRET_KEY}".encode()
    return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()[:16]
