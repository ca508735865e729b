"""Sessions by role: a short idle timeout for second-factor roles, a new key at each step."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp.models import Device

from dossiers.services.access import needs_second_factor

__all__ = ["complete_second_factor", "idle_seconds", "refresh_idle_timeout"]


def idle_seconds(user: AbstractBaseUser | AnonymousUser) -> int:
    """Seconds without a request after which the user's session ends."""
    if needs_second_factor(user):
        return int(settings.SECOND_FACTOR_IDLE_S)
    return int(settings.SESSION_COOKIE_AGE)


def refresh_idle_timeout(request: HttpRequest) -> None:
    """Start the signed-in person's idle time again (the session is saved with its expiry)."""
    request.session.set_expiry(idle_seconds(request.user))


def complete_second_factor(request: HttpRequest, device: Device) -> None:
    """Mark the session verified by ``device`` under a new session key (no fixation)."""
    request.session.cycle_key()
    otp_login(request, device)
    refresh_idle_timeout(request)
