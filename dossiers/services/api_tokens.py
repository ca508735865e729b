"""Authenticating the import API by a person's token, kept hashed (``Authorization: Token …``)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle

from dossiers.models import ApiToken, hash_token

__all__ = ["ImportThrottle", "TokenAuthentication", "revoke_tokens"]

KEYWORDS = (b"token", b"bearer")
"""The schemes accepted before the token: ``Token`` as DRF's, or ``Bearer``."""

TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token (no write on every request)."""


class TokenAuthentication(BaseAuthentication):
    """A token from :class:`~dossiers.models.ApiToken`, looked up by its SHA-256."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Tiêu đề Authorization phải có dạng: Token <mã truy cập>."
            )
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Mã truy cập không hợp lệ.") from exc
        row = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_token(token), revoked_at__isnull=True)
            .first()
        )
        if row is None or not row.user.is_active:
            raise exceptions.AuthenticationFailed("Mã truy cập không hợp lệ hoặc đã bị thu hồi.")
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.user, row

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class ImportThrottle(UserRateThrottle):
    """At most 30 import requests a minute per person (each holds up to 500 dossiers)."""

    scope = "dossier-import"
    rate = "30/min"


def revoke_tokens(user: AbstractBaseUser) -> int:
    """Revoke every token of ``user`` (the person left, or a token leaked); return how many."""
    return ApiToken.objects.filter(user_id=user.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
