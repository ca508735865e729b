"""Appending to the audit trail: one entry at a time, each holding the hash of the one before."""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.chain import link_hash
from audit.models import Action, AuditEntry, AuditHead
from audit.services.context import client_address, current_request, request_user

__all__ = ["HIDDEN", "Action", "clean_detail", "record"]

HEAD_ID = 1
"""The id of the single :class:`AuditHead` row."""

HIDDEN = "[đã ẩn]"
"""What a value whose key names a secret becomes in an entry's detail."""

SECRET_KEYS = re.compile(
    r"pass|pin|secret|token|otp|mat_?khau|bi_?mat|cccd|cmnd|id_?number|dinh_?danh|private|key",
    re.IGNORECASE,
)
"""Keys of ``detail`` whose values never enter the trail (passphrases, PINs, ID numbers …)."""

MAX_TEXT = 200
"""Longest string kept in an entry's detail."""

MAX_ITEMS = 50
"""Most items kept of a list or mapping in an entry's detail."""


def record(
    action: Action | str,
    *,
    actor: AbstractBaseUser | None = None,
    request: HttpRequest | None = None,
    username: str = "",
    office: models.Model | int | None = None,
    obj: models.Model | None = None,
    sha256: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the trail and return it.

    Who: ``actor``, else ``username`` alone (the name typed at a failed sign-in), else
    the signed-in user of ``request`` (or of the request being served,
    :mod:`audit.services.context`). Where from: the address of that request (blank for commands and
    background work). ``obj`` gives the kind and id of what was acted on, ``sha256`` the
    document's bytes concerned. ``detail`` is small JSON; values under keys that name a
    secret, passphrase, PIN or ID number are replaced by :data:`HIDDEN`.

    Inside a transaction the entry commits (or rolls back) with it. Appends are
    serialised by the lock on the head row (``SELECT … FOR UPDATE`` on PostgreSQL; on
    SQLite, the write lock an IMMEDIATE transaction takes), so each entry gets the next
    ``seq`` and the hash of the entry committed before it.
    """
    request = request if request is not None else current_request()
    user = actor
    if user is None and request is not None and not username:
        user = request_user(request)
    facts: dict[str, Any] = {
        "action": str(action),
        "username": user.get_username() if user is not None else username[:150],
        "user_id": user.pk if user is not None else None,
        "office_id": office.pk if isinstance(office, models.Model) else office,
        "object_type": obj._meta.label_lower if obj is not None else "",
        "object_id": str(obj.pk) if obj is not None else "",
        "sha256": sha256,
        "client_address": client_address(request)[:64] if request is not None else "",
        "detail": clean_detail(detail or {}),
    }
    return _append(facts)


def _append(facts: dict[str, Any]) -> AuditEntry:
    """Write the entry after the head row's entry, moving the head, in one transaction."""
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(pk=HEAD_ID).first()
        if head is None:
            # the first entry ever (or after a test flushed the tables): two writers may
            # race to create the row; the loser's insert fails and it reads the winner's
            AuditHead.objects.get_or_create(pk=HEAD_ID)
            head = AuditHead.objects.select_for_update().get(pk=HEAD_ID)
        entry = AuditEntry(seq=head.seq + 1, at=timezone.now(), prev_hash=head.hash, **facts)
        entry.hash = link_hash(entry.as_link())
        entry.save(force_insert=True)
        AuditHead.objects.filter(pk=HEAD_ID).update(seq=entry.seq, hash=entry.hash)
    return entry


def clean_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """``detail`` as the trail keeps it: JSON as stored and read back, small, no secrets.

    Floats become text (a database's JSON may read them back differently, which would
    change the hash), strings and lists are shortened.
    """
    cleaned = _clean(json.loads(json.dumps(detail, default=str)))
    assert isinstance(cleaned, dict)
    return cleaned


def _clean(value: Any, key: str = "") -> Any:
    if key and SECRET_KEYS.search(key):
        return HIDDEN
    if isinstance(value, dict):
        return {str(k): _clean(v, str(k)) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, list):
        return [_clean(v) for v in value[:MAX_ITEMS]]
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value[:MAX_TEXT]
    return value
