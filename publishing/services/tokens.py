"""Short-lived, single-use download links for a signed result, kept in the shared cache."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from django.core.cache import BaseCache, cache

__all__ = ["TOKEN_TTL_S", "issue_download", "redeem_download"]

TOKEN_TTL_S = 300
"""How long a download link works after a successful lookup: 5 minutes."""

_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")


def _now() -> float:
    return time.time()


def _key(token: str) -> str:
    # Only the token's hash is a key: whoever reads the cache cannot use the links.
    return "lookup:dl:" + hashlib.sha256(token.encode()).hexdigest()


def issue_download(document_id: int, *, store: BaseCache | None = None) -> str:
    """Return a fresh token (192 random bits) that downloads ``document_id`` once."""
    token = secrets.token_urlsafe(24)
    (store or cache).set(_key(token), (document_id, _now() + TOKEN_TTL_S), TOKEN_TTL_S)
    return token


def redeem_download(token: str, *, store: BaseCache | None = None) -> int | None:
    """Consume ``token``: its document's id the first time, None when used, expired or unknown.

    The token is deleted before the id is returned, and only the request whose
    delete removed it gets the id, so two requests racing over one link get one file.
    """
    if not _TOKEN.fullmatch(token):
        return None
    store = store or cache
    key = _key(token)
    value = store.get(key)
    if value is None or not store.delete(key):
        return None
    document_id, expires_at = value
    if float(expires_at) <= _now():
        return None
    return int(document_id)
