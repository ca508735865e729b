"""The request being served, for the audit trail: who is signed in and where they are."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse

from core.forwarded import pick_client

__all__ = ["AuditContextMiddleware", "client_address", "current_request", "request_user"]

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


def current_request() -> HttpRequest | None:
    """The request this thread (or task) is serving, when it serves one."""
    return _request.get()


def client_address(request: HttpRequest) -> str:
    """Where ``request`` came from: REMOTE_ADDR, or the hop the trusted proxies saw.

    ``settings.TRUSTED_PROXIES`` says whose X-Forwarded-For is believed (nobody's by
    default), as for the public pages.
    """
    return pick_client(
        str(request.META.get("REMOTE_ADDR", "")),
        str(request.META.get("HTTP_X_FORWARDED_FOR", "")),
        settings.TRUSTED_PROXIES,
    )


def request_user(request: HttpRequest) -> AbstractBaseUser | None:
    """The signed-in user of ``request``, or None (anonymous, or before authentication)."""
    user: AbstractBaseUser | AnonymousUser | None = getattr(request, "user", None)
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return None
    return user


class AuditContextMiddleware:
    """Keep the request in a context variable while it is served, for :func:`current_request`.

    The user is read when an entry is recorded, so a sign-in during the request counts.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
