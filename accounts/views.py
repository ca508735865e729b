"""Sign-in pages: password (throttled by django-axes), second factor, enrolment, backup codes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.services.second_factor import (
    confirm_enrolment,
    has_second_factor,
    is_verified,
    make_backup_codes,
    remaining_backup_codes,
    start_enrolment,
    verify_code,
)
from accounts.services.sessions import complete_second_factor, refresh_idle_timeout
from core.vntime import to_vn
from dossiers.services.access import needs_second_factor

__all__ = ["SignInView", "backup_codes", "enrol", "locked_out", "second_factor"]


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """A sign-in page: never kept by a cache (it may show a secret or backup codes)."""
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response


class SignInView(auth_views.LoginView):
    """The password step; for an official or administrator, on to the second factor."""

    redirect_authenticated_user = False

    def get_success_url(self) -> str:
        target = super().get_success_url()
        user = self.request.user
        refresh_idle_timeout(self.request)
        if needs_second_factor(user):
            step = "second-factor" if has_second_factor(user) else "second-factor-enrol"
            return f"{reverse(step)}?{urlencode({'next': target})}"
        return target


def _next(request: HttpRequest) -> str:
    """Where to go after the second factor: the asked-for page on this site, or home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _user(request: HttpRequest) -> AbstractBaseUser:
    user = request.user
    assert isinstance(user, AbstractBaseUser)  # login_required ran
    return user


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponseBase:
    """The code from the authenticator app (or a backup code) after the password."""
    user = _user(request)
    target = _next(request)
    if is_verified(request.user):
        return redirect(target)
    if not has_second_factor(user):
        return redirect(f"{reverse('second-factor-enrol')}?{urlencode({'next': target})}")
    error = ""
    if request.method == "POST":
        result = verify_code(user, request.POST.get("code", ""))
        if result.device is not None:
            complete_second_factor(request, result.device)
            left = remaining_backup_codes(user)
            if result.device.persistent_id.startswith("otp_static.") and left <= 3:
                messages.warning(
                    request, f"Chỉ còn {left} mã dự phòng; hãy tạo bộ mã mới ở trang tài khoản."
                )
            return redirect(target)
        error = "Mã xác thực không đúng hoặc đã dùng; xin nhập mã mới trên ứng dụng."
        if result.retry_at is not None and result.retry_at > timezone.now():
            error = (
                "Đã nhập sai mã nhiều lần; xin đợi đến "
                f"{to_vn(result.retry_at).strftime('%H:%M:%S')} rồi nhập mã mới."
            )
    return _page(
        request,
        "accounts/second_factor.html",
        {"next": target, "error": error},
        status=400 if error else 200,
    )


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponseBase:
    """Set up an authenticator app: QR code, secret, a code to confirm; then backup codes.

    Someone with a confirmed app must prove it first (the second-factor step) before
    replacing it with another phone.
    """
    user = _user(request)
    target = _next(request)
    if has_second_factor(user) and not is_verified(request.user):
        return redirect(f"{reverse('second-factor')}?{urlencode({'next': target})}")
    error = ""
    if request.method == "POST":
        device = confirm_enrolment(user, request.POST.get("code", ""))
        if device is not None:
            complete_second_factor(request, device)
            codes = make_backup_codes(user)
            return _page(
                request,
                "accounts/backup_codes.html",
                {"codes": codes, "next": target, "enrolled": True},
            )
        error = "Mã chưa đúng: hãy nhập mã 6 chữ số đang hiện trên ứng dụng xác thực."
    enrolment = start_enrolment(user)
    return _page(
        request,
        "accounts/enrol.html",
        {"enrolment": enrolment, "next": target, "error": error},
        status=400 if error else 200,
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def backup_codes(request: HttpRequest) -> HttpResponse:
    """How many backup codes are left; on POST, a new set replacing the old (shown once)."""
    user = _user(request)
    if request.method == "POST":
        return _page(
            request,
            "accounts/backup_codes.html",
            {"codes": make_backup_codes(user), "next": reverse("home"), "enrolled": False},
        )
    return _page(
        request,
        "accounts/account.html",
        {
            "left": remaining_backup_codes(user),
            "has_app": has_second_factor(user),
            "required": needs_second_factor(user),
        },
    )


def locked_out(
    request: HttpRequest,
    response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """django-axes' answer to a locked-out username and address: when to try again."""
    retry_at = to_vn(timezone.now() + settings.AXES_COOLOFF_TIME)
    return _page(
        request,
        "accounts/locked_out.html",
        {
            "retry_at": retry_at.strftime("%H:%M"),
            "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            "failures": settings.AXES_FAILURE_LIMIT,
        },
        status=429,
    )
