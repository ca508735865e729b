"""Reissuing a lost secret: a clerk of the dossier's office, after a confirmation; the old
secret stops opening the public lookup at once, the new one opens it, the reissue recorded."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEntry
from dossiers.models import Dossier, Event, Membership, Office, Procedure, Role
from tests.conftest import DataDirs, MakeDossier, sign_in
from tests.dossiers.receipt_text import secret_on


def _lookup(secret: str, code: str) -> int:
    """The public lookup's answer for ``code`` and ``secret``, from a citizen's browser."""
    return Client().post("/tra-cuu/", {"code": code, "secret": secret}).status_code


@pytest.mark.usefixtures("clear_cache")
def test_reissue_voids_the_old_secret_and_prints_a_new_one(
    client: Client, data_dirs: DataDirs, clerk: User, make_dossier: MakeDossier
) -> None:
    registered = make_dossier()
    dossier, old = registered.dossier, registered.secret
    assert _lookup(old, dossier.code) == 200
    sign_in(client, clerk)
    found = client.get("/tiep-nhan/cap-lai-ma/", {"ma": dossier.code})
    assert found.status_code == 200
    html = found.content.decode()
    assert dossier.applicant_name in html and 'id="confirm-reissue"' in html
    assert Dossier.objects.get().secret_hash == dossier.secret_hash  # a GET changes nothing

    response = client.post("/tiep-nhan/cap-lai-ma/", {"ma": dossier.code})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "no-referrer"
    assert "Đã cấp lại mã tra cứu" in page.content.decode()
    receipt_url = re.search(r'id="print-receipt" href="([^"]+)"', page.content.decode())
    assert receipt_url is not None
    new = secret_on(client.get(receipt_url.group(1)).content)

    assert new != old
    assert _lookup(old, dossier.code) == 403
    assert _lookup(new, dossier.code) == 200
    event = Event.objects.get(dossier=dossier, kind="secret_reissued")
    assert event.actor == clerk.username
    for text in (str(event.detail), event.actor, event.from_state, event.to_state):
        assert old not in text and new not in text
    entry = AuditEntry.objects.get(action="secret_reissued")
    assert entry.username == clerk.username and entry.object_id == str(dossier.pk)
    assert new not in str(entry.detail) and old not in str(entry.detail)


def test_reissue_needs_a_post(
    client: Client, data_dirs: DataDirs, clerk: User, dossier: Dossier
) -> None:
    """Only the confirmed POST changes the secret; a GET with the code only shows it."""
    sign_in(client, clerk)
    before = Dossier.objects.get().secret_hash
    client.get(f"/tiep-nhan/cap-lai-ma/?ma={dossier.code}")
    assert Dossier.objects.get().secret_hash == before
    assert not Event.objects.filter(kind="secret_reissued").exists()


def test_a_clerk_of_another_office_cannot_reissue(
    client: Client, data_dirs: DataDirs, other_office: Office, make_dossier: MakeDossier
) -> None:
    """The dossier of another office is "not found" for the page and the POST alike."""
    registered = make_dossier()
    stranger = User.objects.create_user("vanthu-xa-khac")
    Membership.objects.create(user=stranger, office=other_office, role=Role.CLERK)
    sign_in(client, stranger)
    found = client.get("/tiep-nhan/cap-lai-ma/", {"ma": registered.dossier.code})
    assert found.status_code == 404
    assert "Không có hồ sơ mã" in found.content.decode()
    assert client.post("/tiep-nhan/cap-lai-ma/", {"ma": registered.dossier.code}).status_code == 404
    assert registered.dossier.check_secret(registered.secret)
    assert Dossier.objects.get().secret_hash == registered.dossier.secret_hash


def test_an_official_cannot_reissue(
    client: Client, data_dirs: DataDirs, official: User, procedure: Procedure, dossier: Dossier
) -> None:
    sign_in(client, official)
    assert client.post("/tiep-nhan/cap-lai-ma/", {"ma": dossier.code}).status_code == 403
    assert not Event.objects.filter(kind="secret_reissued").exists()
