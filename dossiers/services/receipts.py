"""Receipts kept for a short reprint: encrypted, tied to the clerk's session, then gone.

Right after a registration (or an import, or a secret reissued) the clerk may print the
receipt, and print it again while still at the desk. The lookup secret is never stored
in clear, so what is kept is the secrets of the dossiers concerned, encrypted with a key
derived from an unguessable token (and the site's secret key), in the shared cache
(Redis) under the token's hash, for :data:`KEEP_S` seconds. Only the clerk's page holds
the token; the entry also names the clerk's session, and answers no other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.cache import BaseCache, cache

from dossiers.models import Dossier
from dossiers.services.registry import Registered, receipt_pdf

__all__ = ["KEEP_S", "Kept", "forget", "keep", "recall", "receipt_of"]

KEEP_S = 30 * 60
"""How long a receipt can be reprinted after it was made: 30 minutes."""

_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _now() -> float:
    return time.time()


def _key(token: str) -> str:
    return "receipts:" + hashlib.sha256(token.encode()).hexdigest()


def _fernet(token: str) -> Fernet:
    raw = hmac.new(settings.SECRET_KEY.encode(), b"receipts:" + token.encode(), "sha256")
    return Fernet(base64.urlsafe_b64encode(raw.digest()))


def _session_tag(session_key: str) -> str:
    raw = hmac.new(settings.SECRET_KEY.encode(), b"session:" + session_key.encode(), "sha256")
    return raw.hexdigest()


@dataclass(frozen=True)
class Kept:
    """What a token opens: the dossiers whose receipts can be printed, and an import report."""

    kind: str
    """What made the entry: ``registered``, ``reissued`` or ``imported``."""

    secrets: dict[int, str] = field(repr=False)
    """Dossier id → its lookup secret, in clear only in this process's memory."""

    report: list[dict[str, Any]]
    """The rows of an import (line, code, ok, error, dossier id), or empty."""

    expires_at: float
    """When the entry stops answering (seconds since the epoch)."""

    @property
    def dossier_ids(self) -> list[int]:
        return list(self.secrets)


def keep(
    session_key: str,
    registered: Sequence[Registered],
    *,
    kind: str = "registered",
    report: list[dict[str, Any]] | None = None,
    store: BaseCache | None = None,
) -> str:
    """Keep the receipts of ``registered`` for the session; return the token that opens them."""
    token = secrets.token_urlsafe(32)
    expires_at = _now() + KEEP_S
    payload = {
        "kind": kind,
        "secrets": {str(r.dossier.pk): r.secret for r in registered},
        "report": report or [],
    }
    sealed = _fernet(token).encrypt(json.dumps(payload, ensure_ascii=False).encode())
    entry = {"session": _session_tag(session_key), "sealed": sealed, "expires_at": expires_at}
    (store or cache).set(_key(token), entry, KEEP_S)
    return token


def recall(token: str, session_key: str, *, store: BaseCache | None = None) -> Kept | None:
    """What ``token`` opens for this session; None when unknown, expired or another's."""
    if not _TOKEN.fullmatch(token) or not session_key:
        return None
    entry = (store or cache).get(_key(token))
    if not isinstance(entry, dict) or float(entry["expires_at"]) <= _now():
        return None
    if not hmac.compare_digest(entry["session"], _session_tag(session_key)):
        return None
    try:
        payload = json.loads(_fernet(token).decrypt(entry["sealed"]))
    except InvalidToken:
        return None
    return Kept(
        kind=str(payload["kind"]),
        secrets={int(k): str(v) for k, v in payload["secrets"].items()},
        report=list(payload["report"]),
        expires_at=float(entry["expires_at"]),
    )


def forget(token: str, *, store: BaseCache | None = None) -> None:
    """Drop the entry at once (the clerk is done with it)."""
    if _TOKEN.fullmatch(token):
        (store or cache).delete(_key(token))


def receipt_of(kept: Kept, dossier: Dossier) -> bytes | None:
    """The receipt PDF of ``dossier`` with its secret, if ``kept`` holds it."""
    secret = kept.secrets.get(dossier.pk)
    if secret is None:
        return None
    return receipt_pdf(Registered(dossier=dossier, secret=secret))
