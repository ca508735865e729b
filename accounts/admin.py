"""Admin: reset a person's second factor from the list of users (a lost phone)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.services.second_factor import reset_second_factor


@admin.action(description="Xóa xác thực hai lớp (mất điện thoại; cài đặt lại khi đăng nhập)")
def reset_second_factors(
    modeladmin: admin.ModelAdmin[User], request: HttpRequest, queryset: QuerySet[User]
) -> None:
    """Remove the chosen users' authenticators and backup codes."""
    removed = sum(reset_second_factor(user) for user in queryset)
    modeladmin.message_user(
        request,
        f"Đã xóa {removed} thiết bị xác thực của {queryset.count()} tài khoản.",
        messages.SUCCESS,
    )


def _offer_on_users() -> None:
    """Add the action to the users' admin, whichever application registered it (this
    application comes after them in INSTALLED_APPS, so theirs is loaded by now)."""
    try:
        users = admin.site.get_model_admin(User)
    except NotRegistered:
        return
    actions = list(users.actions or [])
    if reset_second_factors not in actions:
        users.actions = [*actions, reset_second_factors]


_offer_on_users()
