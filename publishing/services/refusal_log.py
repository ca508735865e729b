"""Refused lookups in the log: one INFO line per client and minute, not a WARNING per guess.

Django logs every 4xx answer as a WARNING ("Forbidden: /tra-cuu/"), so a flood of
wrong secrets would fill the log with one line per guess. The lookup marks its 403
and 429 answers as already logged and calls :func:`note_refusal` instead, which
counts them per client in the shared cache and writes one line for the first refusal
of each client in each minute, with the client's count of the minute before. The
client appears only as its keyed tag (``client_tag``), never as an address, a code or
a secret. A dossier under repeated guessing is still raised in the back office by
``note_guessing``.
"""

from __future__ import annotations

import contextlib
import logging
import time

from django.core.cache import cache
from django.http import HttpResponseBase

from publishing.services.throttle import client_tag

__all__ = ["WINDOW_S", "note_refusal"]

log = logging.getLogger("publishing.lookup")

WINDOW_S = 60
"""The length of one summary window, in seconds."""


def note_refusal(
    response: HttpResponseBase, client_address: str, *, now: float | None = None
) -> None:
    """Count a refused lookup (403 wrong code or secret, 429 wait) of ``client_address``;
    log the client's first refusal of each minute, and keep Django from logging this one."""
    response._has_been_logged = True  # type: ignore[attr-defined]  # django.utils.log
    tag = client_tag(client_address)
    window = int((time.time() if now is None else now) // WINDOW_S)
    key = f"lookup:refused:{tag}:{window}"
    if not cache.add(key, 1, WINDOW_S * 2):
        with contextlib.suppress(ValueError):  # expired between add and incr: let it go
            cache.incr(key)
        return
    before = cache.get(f"lookup:refused:{tag}:{window - 1}")
    log.info(
        "lookup refused for client %s (%d %s); %s in the minute before",
        tag,
        response.status_code,
        "wrong code or secret" if response.status_code == 403 else "told to wait",
        int(before) if before is not None else 0,
    )
