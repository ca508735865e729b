"""Every back-office request: the second factor required where the role needs it, idle timeout."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

from accounts.services.second_factor import has_second_factor, is_verified
from accounts.services.sessions import refresh_idle_timeout
from dossiers.services.access import needs_second_factor

__all__ = ["SignInMiddleware"]

OPEN_URL_NAMES = ("second-factor", "second-factor-enrol", "logout", "set_language", "healthz")
"""Pages a person signed in by password alone may open: finishing the sign-in, leaving."""


class SignInMiddleware:
    """After django-otp's middleware: a person who needs a second factor (official,
    administrator, superuser) and has only given a password is sent to the code step (or
    to set up an authenticator) from every page but those in ``OPEN_URL_NAMES``; the
    admin and the signing pages are covered here, in one place. Each request of a
    signed-in person also restarts their idle timeout (15 minutes for those roles)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self._open: tuple[str, ...] | None = None

    def _open_paths(self) -> tuple[str, ...]:
        if self._open is None:
            self._open = (*(reverse(name) for name in OPEN_URL_NAMES), f"/{settings.STATIC_URL}")
        return self._open

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            # No session cookie, nobody signed in: a public visitor's request goes on
            # without its user or session being loaded here.
            return self.get_response(request)
        user = request.user
        if user.is_authenticated:
            refresh_idle_timeout(request)
            if (
                needs_second_factor(user)
                and not is_verified(user)
                and not request.path.startswith(self._open_paths())
            ):
                step = "second-factor" if has_second_factor(user) else "second-factor-enrol"
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse(step)}?{query}")
        return self.get_response(request)
