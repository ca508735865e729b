"""Every address of the site is either on the public list or closed to strangers: a new page
without a role check fails here, whoever adds it (the admin has its own tests)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import DataDirs

PUBLIC = {
    "home",
    "healthz",
    "login",
    "logout",
    "lookup",
    "download",
    "verify",
    "verify-code",
    "rating",
    "set_language",
    "api-schema",
}
"""Pages anyone on the internet may open: the citizen's portal, signing in, the API's
description (it describes the import call and holds no data)."""

SIGNED_IN_ONLY = {"second-factor", "second-factor-enrol", "account"}
"""Pages any signed-in person may open for their own account, whatever their roles."""


def _routes(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith("quan-tri/"):
                continue
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif pattern.name:
            yield prefix + str(pattern.pattern), pattern.name


def _concrete(route: str) -> str:
    """The route with its parameters filled in (ids that exist nowhere)."""
    route = re.sub(r"<int:[^>]+>", "987654", route)
    return "/" + re.sub(r"<(?:str:|slug:)?[^>]+>", "khong-co", route)


ROUTES = sorted(_routes(get_resolver().url_patterns))
GUARDED = [(route, name) for route, name in ROUTES if name not in PUBLIC | SIGNED_IN_ONLY]


def test_the_lists_name_real_pages() -> None:
    """The public and account lists name existing pages (a renamed page is not let through)."""
    names = {name for _, name in ROUTES}
    assert names >= PUBLIC | SIGNED_IN_ONLY
    assert len(GUARDED) >= 19


@pytest.mark.django_db()
@pytest.mark.parametrize(("route", "name"), GUARDED, ids=[name for _, name in GUARDED])
def test_a_guarded_page_is_closed_to_strangers(
    route: str, name: str, client: Client, data_dirs: DataDirs
) -> None:
    """Anonymous visitors are sent to sign in (or refused); a signed-in person with no role
    in any office gets 403, 404 or 405 (401 from the API, which takes only its tokens) —
    never the page, by GET or POST."""
    url = _concrete(route)
    for method in (client.get, client.post):
        response = method(url)
        if response.status_code == 302:
            assert response["Location"].startswith("/dang-nhap/"), (url, response["Location"])
        else:
            assert response.status_code in (401, 403, 404, 405), (url, response.status_code)
    client.force_login(User.objects.create_user("nguoi-la"))
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code in (401, 403, 404, 405), (url, response.status_code)
