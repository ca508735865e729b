"""The admin keeps registered facts: pipeline records read-only, a dossier's registration fixed."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from dossiers.models import Dossier, Procedure
from tests.conftest import sign_in
from tests.dossiers.conftest import World
from tests.support.admin_site import RECORDED, form_of
from tests.support.admin_site import admin_url as _url


@pytest.mark.django_db()
@pytest.mark.parametrize("who", ["root", "admin_a"])
def test_pipeline_records_are_never_added_changed_or_deleted(
    client: Client, world: World, who: str
) -> None:
    sign_in(client, world.users[who])
    for model in (*RECORDED, Dossier):
        row = world.rows[model]["a"]
        assert client.get(_url(model, "add/")).status_code == 403, model
        assert client.post(_url(model, "add/"), {}).status_code == 403, model
        assert client.post(_url(model, "delete/", row.pk), {"post": "yes"}).status_code == 403
        if model is not Dossier:
            page = client.get(_url(model, "change/", row.pk)).content.decode()
            assert 'name="_save"' not in page, model
            assert client.post(_url(model, "change/", row.pk), {}).status_code == 403, model
        assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.django_db()
@pytest.mark.parametrize("who", ["root", "admin_a"])
def test_a_dossiers_registered_facts_stay_as_registered(
    client: Client, world: World, who: str
) -> None:
    sign_in(client, world.users[who])
    dossier = world.rows[Dossier]["a"]
    assert isinstance(dossier, Dossier)
    before = Dossier.objects.values().get(pk=dossier.pk)
    url = _url(Dossier, "change/", dossier.pk)
    data = form_of(client, url)
    assert "code" not in data and "office" not in data and "secret_hash" not in data
    data.update(
        code="GIA-MAO",
        office=str(world.b.pk),
        procedure=str(world.rows[Procedure]["b"].pk),
        received_at_0="01/01/2020",
        due_at_0="02/01/2020",
        secret_hash="0" * 64,
        phone="0987654321",
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    after = Dossier.objects.values().get(pk=dossier.pk)
    assert after["phone"] == "0987654321"
    for name in ("code", "office_id", "procedure_id", "received_at", "due_at", "secret_hash"):
        assert after[name] == before[name], name


@pytest.mark.django_db()
def test_a_dossier_page_shows_no_secret(client: Client, world: World) -> None:
    sign_in(client, world.users["root"])
    dossier = world.rows[Dossier]["a"]
    assert isinstance(dossier, Dossier)
    html = client.get(_url(Dossier, "change/", dossier.pk)).content.decode()
    assert dossier.secret_hash not in html and "Đã cấp" in html
    assert timezone.localtime(dossier.received_at).strftime("%H:%M") in html
