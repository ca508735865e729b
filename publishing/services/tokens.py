"""Short-lived, single-use download links for a signed result, kept in the shared cache."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from django.core.cache import BaseCache, cache

__all__ = [
    "TOKEN_TTL_S",
    "issue_download",
    "issue_letter_download",
    "redeem_download",
    "redeem_letter_download",
]

TOKEN_TTL_S = 300
"""How long a download link works after a successful lookup: 5 minutes."""

_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")


def _now() -> float:
    return time.time()


def _key(token: str) -> str:
    # Only the token's hash is a key: whoever reads the cache cannot use the links.
    return "lookup:dl:" + hashlib.sha256(token.encode()).hexdigest()


def issue_download(
    document_id: int, secret_hash: str = "", *, store: BaseCache | None = None
) -> str:
    """Return a fresh token (192 random bits) that downloads ``document_id`` once.

    ``secret_hash`` is the dossier's lookup secret (hashed) the link was earned with:
    :func:`redeem_download` hands it back, so a link made before the secret was
    reissued stops working with the old secret.
    """
    token = secrets.token_urlsafe(24)
    value = (document_id, _now() + TOKEN_TTL_S, secret_hash)
    (store or cache).set(_key(token), value, TOKEN_TTL_S)
    return token


def redeem_download(token: str, *, store: BaseCache | None = None) -> tuple[int, str] | None:
    """Consume ``token``: its document's id and the secret hash it was issued under, the
    first time; None when used, expired or unknown.

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
    document_id, expires_at, secret_hash = value
    if float(expires_at) <= _now():
        return None
    return int(document_id), str(secret_hash)


_LETTER = "letter:"
"""Prefix of a letter's id in a token's value, so a letter's link never opens a document."""


def issue_letter_download(
    letter_id: int, secret_hash: str = "", *, store: BaseCache | None = None
) -> str:
    """Return a single-use token that downloads the signed letter ``letter_id`` once."""
    token = secrets.token_urlsafe(24)
    value = (f"{_LETTER}{letter_id}", _now() + TOKEN_TTL_S, secret_hash)
    (store or cache).set(_key(token), value, TOKEN_TTL_S)
    return token


def redeem_letter_download(token: str, *, store: BaseCache | None = None) -> tuple[int, str] | None:
    """Consume a letter's ``token``: the letter's id and the secret hash, once; else None.

    A document's token is not consumed here (it stays for :func:`redeem_download`).
    """
    if not _TOKEN.fullmatch(token):
        return None
    store = store or cache
    key = _key(token)
    value = store.get(key)
    if value is None or not str(value[0]).startswith(_LETTER) or not store.delete(key):
        return None
    letter, expires_at, secret_hash = value
    if float(expires_at) <= _now():
        return None
    return int(str(letter).removeprefix(_LETTER)), str(secret_hash)
