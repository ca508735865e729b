"""Admin pages for accounts and their roles per office (Membership rows, inline)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from dossiers.admin.scoping import ALL, Action, ScopedAdmin, ScopedInline, manageable_users, may
from dossiers.models import ApiToken, Membership, Role
from dossiers.services.access import offices

__all__ = ["ApiTokenAdmin", "MembershipInline", "MotcuaUserAdmin"]


class MembershipInline(ScopedInline[Membership, Any]):
    """A person's roles, one row per office and role; only the offices one administers."""

    model = Membership
    fk_name = "user"
    fields = ("office", "role")
    office_admin_may = ALL
    extra = 1
    verbose_name = "vai trò tại cơ quan"
    verbose_name_plural = "vai trò tại các cơ quan"

    def get_formset(
        self, request: HttpRequest, obj: Any | None = None, **kwargs: Any
    ) -> type[BaseInlineFormSet[Membership, Any, Any]]:
        if obj is None and self.fk_name == "user" and not request.user.is_superuser:
            # an office administrator's new account starts with a role in one of their offices
            kwargs.update(min_num=1, validate_min=True, extra=0)
        return super().get_formset(request, obj, **kwargs)


class OfficeFilter(admin.SimpleListFilter):
    title = "cơ quan"
    parameter_name = "co_quan"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(office.pk), office.name) for office in offices(request.user, Role.ADMIN)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(memberships__office=value).distinct() if value else queryset


class RoleFilter(admin.SimpleListFilter):
    title = "vai trò"
    parameter_name = "vai_tro"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(role.value, str(role.label)) for role in Role]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(memberships__role=value).distinct() if value else queryset


OFFICE_ADMIN_FIELDSETS = (
    (None, {"fields": ("username", "password")}),
    (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
    (_("Permissions"), {"fields": ("is_active", "is_staff")}),
    (_("Important dates"), {"fields": ("last_login", "date_joined")}),
)
"""What an office administrator edits of an account: never superuser status, groups or
Django permissions (the roles below are the permissions)."""


class MotcuaUserAdmin(UserAdmin[User]):
    """Accounts with their roles; an office administrator manages their offices' people."""

    inlines = [MembershipInline]
    list_display = ("username", "full_name", "email", "roles", "is_active", "is_staff")
    list_filter = (OfficeFilter, RoleFilter, "is_active", "is_staff", "is_superuser")
    superuser_may: frozenset[Action] = ALL
    office_admin_may: frozenset[Action] = frozenset({"view", "add", "change"})

    @admin.display(description="họ tên")
    def full_name(self, obj: User) -> str:
        return obj.get_full_name()

    @admin.display(description="vai trò")
    def roles(self, obj: User) -> str:
        return "; ".join(
            f"{membership.get_role_display()} — {membership.office.name}"
            for membership in obj.memberships.all()
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        visible = manageable_users(request.user).values("pk")
        return (
            super()
            .get_queryset(request)
            .filter(pk__in=visible)
            .prefetch_related("memberships__office")
        )

    def get_list_filter(self, request: HttpRequest) -> Any:
        if request.user.is_superuser:
            return (*self.list_filter, "groups")
        return tuple(f for f in self.list_filter if f != "is_superuser")

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        if obj is not None and not request.user.is_superuser:
            return OFFICE_ADMIN_FIELDSETS
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ("last_login", "date_joined")

    def _may(self, request: HttpRequest, action: Action) -> bool:
        return may(request, action, self.superuser_may, self.office_admin_may)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request, "view")

    def has_view_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return self._may(request, "view")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return self._may(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return self._may(request, "delete")


UserModel = get_user_model()
if admin.site.is_registered(UserModel):
    admin.site.unregister(UserModel)
admin.site.register(UserModel, MotcuaUserAdmin)


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin[ApiToken]):
    """Tokens of other systems: seen and revoked here, made by ``motcua api-token`` (the
    clear token is shown once, there); only the system's administrators."""

    office_via = None
    superuser_may = frozenset({"view", "change"})
    office_admin_may = frozenset()
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    fields = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("name", "user", "prefix", "created_at", "last_used_at")
