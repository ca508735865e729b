"""The address a public request came from: REMOTE_ADDR, or the hop a trusted proxy saw."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from core.forwarded import pick_client

__all__ = ["client_address", "pick_client"]


def client_address(request: HttpRequest) -> str:
    """The client's address as the throttle should count it.

    Without ``settings.TRUSTED_PROXIES`` (the default) this is REMOTE_ADDR and
    X-Forwarded-For is ignored, since anyone can send that header. Set it to the
    number of reverse proxies in front of the web server, or to their networks,
    and the address the outermost trusted proxy saw is used instead
    (:func:`core.forwarded.pick_client`, shared with the audit trail).
    """
    return pick_client(
        request.META.get("REMOTE_ADDR", ""),
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        settings.TRUSTED_PROXIES,
    )
