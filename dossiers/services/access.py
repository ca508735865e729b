"""Who may see and do what, where: every office-scoped query and role check goes through here.

A person belongs to offices through :class:`~dossiers.models.Membership` rows, one per
role. A role in an office covers that office only, except the administrator's, which
also covers every office below it (a province's administrator manages its districts and
communes). A superuser is the system's administrator: every role in every office.

Views, admin pages, exports and commands never filter by office themselves: they ask
:func:`scope` for the rows a person may reach, and :func:`check_role` (or the
:func:`role_required` decorator) for what the person may do. A person without the role
gets ``PermissionDenied`` (a 403 page in Vietnamese); a row of another office is simply
not found (404), so its existence stays hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from dossiers.models import Membership, Office, Role

__all__ = [
    "ALL_ROLES",
    "SECOND_FACTOR_ROLES",
    "check_role",
    "has_role",
    "menu",
    "needs_second_factor",
    "office_ids",
    "offices",
    "role_required",
    "roles_of",
    "scope",
]

M = TypeVar("M", bound=Model)
View = TypeVar("View", bound=Callable[..., HttpResponseBase])
AnyUser = AbstractBaseUser | AnonymousUser

ALL_ROLES: tuple[Role, ...] = tuple(Role)
"""Every role: for pages any member of an office may open."""

SECOND_FACTOR_ROLES = frozenset({Role.OFFICIAL, Role.HEAD, Role.ADMIN})
"""Roles that must sign in with a second factor (they sign for the state or manage others)."""

_CACHE = "_motcua_offices"


def _active(user: AnyUser | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _superuser(user: AnyUser) -> bool:
    return bool(getattr(user, "is_superuser", False))


def _with_subordinates(office_ids: set[int]) -> set[int]:
    """The offices and every office below them, however deep."""
    found = set(office_ids)
    frontier = set(office_ids)
    while frontier:
        frontier = (
            set(Office.objects.filter(parent__in=frontier).values_list("pk", flat=True)) - found
        )
        found |= frontier
    return found


def _by_role(user: AnyUser) -> dict[str, frozenset[int]]:
    """Office ids per role, read once per user object (one request)."""
    cached: dict[str, frozenset[int]] | None = getattr(user, _CACHE, None)
    if cached is not None:
        return cached
    rows: dict[str, set[int]] = {role.value: set() for role in Role}
    for role, office_id in Membership.objects.filter(user_id=int(str(user.pk))).values_list(
        "role", "office_id"
    ):
        rows[role].add(office_id)
    if rows[Role.ADMIN]:
        rows[Role.ADMIN] = _with_subordinates(rows[Role.ADMIN])
    result = {role: frozenset(ids) for role, ids in rows.items()}
    setattr(user, _CACHE, result)
    return result


def office_ids(user: AnyUser | None, *roles: Role) -> frozenset[int] | None:
    """The ids of the offices where the user holds any of ``roles`` (all roles if none given).

    None means every office (a superuser); an empty set means none (a stranger, an
    inactive account, an anonymous visitor).
    """
    if user is None or not _active(user):
        return frozenset()
    if _superuser(user):
        return None
    by_role = _by_role(user)
    wanted = roles or ALL_ROLES
    return frozenset().union(*(by_role[role.value] for role in wanted))


def scope(
    queryset: QuerySet[M], user: AnyUser | None, *roles: Role, via: str = "office"
) -> QuerySet[M]:
    """The rows of ``queryset`` in the offices where the user holds any of ``roles``.

    ``via`` is the lookup from the model to its office (``"office"`` for a dossier,
    ``"dossier__office"`` for a document, ``"pk"`` for offices themselves).
    """
    ids = office_ids(user, *roles)
    if ids is None:
        return queryset
    if not ids:
        return queryset.none()
    return queryset.filter(**{f"{via}__in": ids})


def offices(user: AnyUser | None, *roles: Role) -> QuerySet[Office]:
    """The offices where the user holds any of ``roles``."""
    return scope(Office.objects.all(), user, *roles, via="pk")


def roles_of(user: AnyUser | None, office: Office | int | None = None) -> frozenset[Role]:
    """The roles the user holds, in ``office`` or anywhere."""
    if user is None or not _active(user):
        return frozenset()
    if _superuser(user):
        return frozenset(Role)
    office_id = office.pk if isinstance(office, Office) else office
    return frozenset(
        Role(role)
        for role, ids in _by_role(user).items()
        if ids and (office_id is None or office_id in ids)
    )


def has_role(user: AnyUser | None, *roles: Role, office: Office | int | None = None) -> bool:
    """Whether the user holds any of ``roles`` (in ``office``, or anywhere when None)."""
    return bool(roles_of(user, office) & set(roles or ALL_ROLES))


def check_role(user: AnyUser | None, *roles: Role, office: Office | int | None = None) -> None:
    """Raise PermissionDenied unless the user holds one of ``roles`` (in ``office``)."""
    if not has_role(user, *roles, office=office):
        raise PermissionDenied(_denial(roles))


def needs_second_factor(user: AnyUser | None) -> bool:
    """Whether the user must prove a second factor: officials, administrators, superusers."""
    return bool(user is not None and (_superuser(user) or has_role(user, *SECOND_FACTOR_ROLES)))


def role_required(*roles: Role) -> Callable[[View], View]:
    """A view decorator: sign-in, then one of ``roles`` in some office, else a 403 page.

    The view still scopes what it shows with :func:`scope`; this only keeps out the
    people whose work the page is not.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            check_role(request.user, *roles)
            return view(request, *args, **kwargs)

        return login_required(guarded)  # type: ignore[return-value]

    return decorate


def _denial(roles: Iterable[Role]) -> str:
    names = ", ".join(str(role.label).lower() for role in roles) or "thành viên cơ quan"
    return f"Trang này dành cho {names}; tài khoản của bạn không có vai trò đó."


def menu(request: HttpRequest) -> dict[str, Any]:
    """Template context: ``roles``, the signed-in person's roles anywhere, for the menu."""
    return {"roles": roles_of(getattr(request, "user", None))}
