"""The admin scoped to each office administrator's offices: what they see, grant, add and choose."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dossiers.admin.scoping import office_path
from dossiers.models import CalendarDay, Document, Dossier, Membership, Office, Procedure, Role
from signing.models import AutoSignPolicy, BatchItem, OfficeSigningPolicy, Signer
from tests.conftest import sign_in
from tests.dossiers.conftest import World
from tests.support.admin_site import admin_url as _url
from tests.support.admin_site import english_left as _english
from tests.support.admin_site import form_of


@pytest.mark.django_db()
def test_an_office_administrator_sees_their_offices_and_nothing_of_another(
    client: Client, world: World
) -> None:
    sign_in(client, world.users["admin_a"])
    index = client.get("/quan-tri/").content.decode()
    assert "Quản trị hệ thống một cửa" in index and "người ký" in index.lower()
    for model, rows in world.rows.items():
        listing = client.get(_url(model))
        assert listing.status_code == 200, model
        html = listing.content.decode()
        assert _english(html) == [], (model, _english(html))
        for key in ("a", "a-child"):
            assert _url(model, "change/", rows[key].pk) in html, (model, key)
            assert client.get(_url(model, "change/", rows[key].pk)).status_code == 200, model
        assert _url(model, "change/", rows["b"].pk) not in html, model
        assert client.get(_url(model, "change/", rows["b"].pk)).status_code in (302, 404), model
    # Django's groups and permissions are the system administrator's
    assert client.get("/quan-tri/auth/group/").status_code == 403


@pytest.mark.django_db()
def test_an_office_administrator_grants_no_superuser_and_no_role_elsewhere(
    client: Client, world: World
) -> None:
    sign_in(client, world.users["admin_a"])
    clerk = world.rows[User]["a"]
    assert isinstance(clerk, User)
    url = _url(User, "change/", clerk.pk)
    data = form_of(client, url)
    assert "is_superuser" not in data and "groups" not in data
    data.update(is_superuser="on", user_permissions=["1"])
    assert client.post(url, data).status_code == 302
    clerk.refresh_from_db()
    assert not clerk.is_superuser and not clerk.user_permissions.exists()

    # a role in office B is not a choice
    data = form_of(client, url)
    total = int(data["memberships-TOTAL_FORMS"])
    data.update(
        {
            f"memberships-{total - 1}-office": str(world.b.pk),
            f"memberships-{total - 1}-role": Role.ADMIN.value,
        }
    )
    refused = client.post(url, data)
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    assert not Membership.objects.filter(user=clerk, office=world.b).exists()

    # a role in the commune below office A is
    data[f"memberships-{total - 1}-office"] = str(world.a_child.pk)
    assert client.post(url, data).status_code == 302
    assert Membership.objects.filter(user=clerk, office=world.a_child, role=Role.ADMIN).exists()


@pytest.mark.django_db()
def test_an_office_administrator_adds_people_only_with_a_role_in_their_offices(
    client: Client, world: World
) -> None:
    sign_in(client, world.users["admin_a"])
    url = _url(User, "add/")
    base = {
        "username": "canbo-moi",
        "usable_password": "false",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "1",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    page = client.get(url).content.decode()
    assert f'value="{world.a.pk}"' in page and f'value="{world.b.pk}"' not in page
    refused = client.post(url, base)
    assert refused.status_code == 200 and not User.objects.filter(username="canbo-moi").exists()
    refused = client.post(
        url, {**base, "memberships-0-office": str(world.b.pk), "memberships-0-role": "clerk"}
    )
    assert refused.status_code == 200 and not User.objects.filter(username="canbo-moi").exists()
    added = client.post(
        url, {**base, "memberships-0-office": str(world.a.pk), "memberships-0-role": "clerk"}
    )
    assert added.status_code == 302
    person = User.objects.get(username="canbo-moi")
    assert list(person.memberships.values_list("office", "role")) == [(world.a.pk, "clerk")]
    assert client.get(_url(User, "change/", person.pk)).status_code == 200


@pytest.mark.django_db()
def test_people_reaching_beyond_the_administrators_offices_are_not_theirs(
    client: Client, world: World
) -> None:
    """A person with a role in office B as well (or a superuser) is not office A's to manage:
    resetting their password would hand office A's administrator their other office."""
    both = world.rows[User]["a"]
    assert isinstance(both, User)
    Membership.objects.create(user=both, office=world.b, role=Role.ADMIN)
    sign_in(client, world.users["admin_a"])
    listing = client.get(_url(User)).content.decode()
    assert _url(User, "change/", both.pk) not in listing
    assert _url(User, "change/", world.users["root"].pk) not in listing
    for pk in (both.pk, world.users["root"].pk):
        assert client.get(_url(User, "password/", pk)).status_code in (302, 403, 404)


@pytest.mark.django_db()
def test_choices_on_forms_are_the_administrators_offices(client: Client, world: World) -> None:
    sign_in(client, world.users["admin_a"])
    for model in (Procedure, Signer, AutoSignPolicy, OfficeSigningPolicy):
        page = client.get(_url(model, "add/"))
        assert page.status_code == 200, model
        office_select = re.search(
            r'<select name="office"[^>]*>(.*?)</select>', page.content.decode(), re.S
        )
        assert office_select is not None, model
        offered = set(re.findall(r'value="(\d+)"', office_select.group(1)))
        assert offered == {str(world.a.pk), str(world.a_child.pk)}, model
    # and a row of office B posted anyway is refused
    response = client.post(
        _url(Procedure, "add/"),
        {"office": str(world.b.pk), "code": "X", "name": "X", "limit_working_days": "3"},
    )
    assert response.status_code == 200 and not Procedure.objects.filter(code="X").exists()


@pytest.mark.django_db()
def test_an_office_administrators_new_office_hangs_below_theirs(
    client: Client, world: World
) -> None:
    sign_in(client, world.users["admin_a"])
    url = _url(Office, "add/")
    management = {
        f"{prefix}-{name}": value
        for prefix in ("procedures", "memberships")
        for name, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
    }
    top = client.post(url, {"code": "tinh-moi", "name": "Tỉnh mới", **management})
    assert top.status_code == 200 and not Office.objects.filter(code="tinh-moi").exists()
    below = client.post(
        url, {"code": "xa-moi", "name": "Xã mới", "parent": str(world.a.pk), **management}
    )
    assert below.status_code == 302
    assert Office.objects.get(code="xa-moi").parent == world.a
    # their own office is not moved out from under the office above it
    page = client.get(_url(Office, "change/", world.a_child.pk)).content.decode()
    assert 'name="parent"' not in page and 'name="code"' not in page


def test_every_model_finds_its_office() -> None:
    assert office_path(Dossier) == "office"
    assert office_path(Document) == "dossier__office"
    assert office_path(BatchItem) == "batch__office"
    assert office_path(Office) == "pk"
    assert office_path(CalendarDay) is None
