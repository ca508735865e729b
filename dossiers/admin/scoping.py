"""The admin's one gate: who may open which page, and the rows and choices each person sees.

Every admin page of motcua is a :class:`ScopedAdmin` (or a :class:`ScopedInline`): a
superuser sees every office, an office administrator (a staff account with the
administrator's role, :class:`~dossiers.models.Role`) the offices of that role and those
below them, through :func:`dossiers.services.access.scope`; nobody else anything. What
each of them may do on a page (view, add, change, delete) is the page's policy, and
records the pipeline writes (events, batches, intakes, messages) are never added,
changed or deleted by hand, not even by a superuser. Django's per-model permissions are
not used: the role is the permission.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar, Literal, TypeVar

from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from dossiers.models import Membership, Office, Role
from dossiers.services.access import has_role, office_ids, offices, scope

__all__ = [
    "ALL",
    "VIEW",
    "Action",
    "ScopedAdmin",
    "ScopedInline",
    "choices_for",
    "is_office_admin",
    "manageable_users",
    "may",
    "office_path",
]

M = TypeVar("M", bound=Model)
P = TypeVar("P", bound=Model)
Action = Literal["view", "add", "change", "delete"]
AnyUser = AbstractBaseUser | AnonymousUser

ALL: frozenset[Action] = frozenset({"view", "add", "change", "delete"})
VIEW: frozenset[Action] = frozenset({"view"})


def is_office_admin(user: AnyUser) -> bool:
    """A staff account holding the administrator's role in some office."""
    return bool(user.is_active and getattr(user, "is_staff", False) and has_role(user, Role.ADMIN))


def may(
    request: HttpRequest,
    action: Action,
    superuser_may: frozenset[Action],
    office_admin_may: frozenset[Action],
) -> bool:
    """Whether the person behind ``request`` may ``action`` on a page with these policies."""
    user = request.user
    if not (user.is_active and getattr(user, "is_staff", False)):
        return False
    if getattr(user, "is_superuser", False):
        return action in superuser_may
    return action in office_admin_may and is_office_admin(user)


def manageable_users(user: AnyUser) -> QuerySet[Any]:
    """The accounts an administrator manages: every one for a superuser; for an office
    administrator, those with a role in one of their offices and none outside them, never a
    superuser (so nobody takes over an account that reaches further than they do)."""
    users = get_user_model()._default_manager.all()
    ids = office_ids(user, Role.ADMIN)
    if ids is None:
        return users
    if not ids:
        return users.none()
    elsewhere = Membership.objects.exclude(office__in=ids).values("user")
    return (
        users.filter(is_superuser=False, memberships__office__in=ids)
        .exclude(pk__in=elsewhere)
        .distinct()
    )


def office_path(model: type[Model], depth: int = 3) -> str | None:
    """The lookup from ``model`` to its office (``"office"``, ``"dossier__office"`` …), or None.

    Found by following foreign keys, nearest first, so a new model needs no entry here.
    """
    if model is Office:
        return "pk"
    queue: deque[tuple[type[Model], str, int]] = deque([(model, "", 0)])
    while queue:
        current, prefix, level = queue.popleft()
        for field in current._meta.get_fields():
            if not isinstance(field, ForeignKey) or field.name == "parent":
                continue
            target = field.remote_field.model
            if not isinstance(target, type):
                continue
            lookup = f"{prefix}{field.name}"
            if target is Office:
                return lookup
            if level + 1 < depth:
                queue.append((target, f"{lookup}__", level + 1))
    return None


def choices_for(model: type[Model], request: HttpRequest) -> QuerySet[Any] | None:
    """The rows of ``model`` a person may pick in a form, or None when not office-bound."""
    user = request.user
    if model is Office:
        return offices(user, Role.ADMIN)
    if model is get_user_model():
        return manageable_users(user)
    via = office_path(model)
    if via is None:
        return None
    return scope(model._default_manager.all(), user, Role.ADMIN, via=via)


def scoped_rows(queryset: QuerySet[M], request: HttpRequest, via: str | None) -> QuerySet[M]:
    """The rows of a page's queryset the person may reach (``via`` None: a nationwide table)."""
    if via is None:
        return queryset
    return scope(queryset, request.user, Role.ADMIN, via=via)


def _scoped_choice(db_field: Any, request: HttpRequest, kwargs: dict[str, Any]) -> None:
    choices = choices_for(db_field.remote_field.model, request)
    if choices is not None:
        kwargs["queryset"] = choices


class _Scoped(BaseModelAdmin[M]):
    """What a page and a table inside one share: the rows and choices of the person's
    offices, and the policy of what each may do."""

    office_via: ClassVar[str | None] = "office"
    """The lookup from the model to its office; None for nationwide tables (holidays)."""
    superuser_may: ClassVar[frozenset[Action]] = ALL
    office_admin_may: ClassVar[frozenset[Action]] = VIEW

    def get_queryset(self, request: HttpRequest) -> QuerySet[M]:
        return scoped_rows(super().get_queryset(request), request, self.office_via)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        _scoped_choice(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _may(self, request: HttpRequest, action: Action) -> bool:
        return may(request, action, self.superuser_may, self.office_admin_may)


class ScopedAdmin(_Scoped[M], admin.ModelAdmin[M]):
    """An admin page limited to the person's offices, with a policy of what each may do."""

    registered: ClassVar[tuple[str, ...]] = ()
    """Fields fixed once the row exists: shown, never changed (a dossier's code …)."""

    def get_readonly_fields(self, request: HttpRequest, obj: M | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += [name for name in self.registered if name not in fields]
        return fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request, "view") or self._may(request, "change")

    def has_view_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return self._may(request, "view") or self._may(request, "change")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return self._may(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return self._may(request, "delete")


class ScopedInline(_Scoped[M], admin.TabularInline[M, P]):
    """A table inside an admin page, limited and governed as :class:`ScopedAdmin` is."""

    extra = 0

    def has_view_permission(self, request: HttpRequest, obj: P | None = None) -> bool:  # type: ignore[override]
        return self._may(request, "view") or self._may(request, "change")

    def has_add_permission(self, request: HttpRequest, obj: P | None) -> bool:  # type: ignore[override]
        return self._may(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: P | None = None) -> bool:  # type: ignore[override]
        return self._may(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: P | None = None) -> bool:  # type: ignore[override]
        return self._may(request, "delete")
