"""Tokens of the import API: each belongs to a person, only its SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


def hash_token(token: str) -> str:
    """The stored form of an API token: tokens carry 256 random bits, so SHA-256 suffices."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A token another system uses to import dossiers as the person it belongs to.

    The token acts with its owner's roles and offices, read at each request: a clerk who
    leaves an office takes the token's access to it along. The clear token is shown once,
    when made; the database keeps its hash and a short prefix to tell tokens apart.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name="người dùng",
    )
    name = models.CharField("tên", max_length=100, help_text="Hệ thống nào dùng mã này.")
    prefix = models.CharField("đầu mã", max_length=8, editable=False)
    key_hash = models.CharField("băm SHA-256 của mã", max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("ngày tạo", auto_now_add=True)
    last_used_at = models.DateTimeField("lần dùng cuối", null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField("ngày thu hồi", null=True, blank=True)

    class Meta:
        verbose_name = "mã truy cập API"
        verbose_name_plural = "mã truy cập API"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user: models.Model, name: str) -> tuple[ApiToken, str]:
        """Create a token for ``user``; return the row and the clear token (shown once)."""
        token = secrets.token_urlsafe(32)
        row = cls.objects.create(user=user, name=name, prefix=token[:8], key_hash=hash_token(token))
        return row, token
