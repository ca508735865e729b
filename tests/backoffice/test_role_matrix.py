"""Every back-office page for two offices and every role: the status each person gets, and
office B's data never shown to office A's people."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dossiers.models import Event, Role
from tests.backoffice.conftest import MakeUser, Side, signed_in
from watch_folders.models import Intake

PEOPLE = ("anonymous", "stranger", "clerk", "official", "head", "admin")

PAGES = ("home", "list", "dossier_a", "dossier_b", "refused", "folders")

EXPECTED: dict[str, dict[str, int]] = {
    "anonymous": {
        "home": 200,
        "list": 302,
        "dossier_a": 302,
        "dossier_b": 302,
        "refused": 302,
        "folders": 302,
    },
    "stranger": {
        "home": 200,
        "list": 403,
        "dossier_a": 403,
        "dossier_b": 403,
        "refused": 403,
        "folders": 403,
    },
    "clerk": {
        "home": 200,
        "list": 200,
        "dossier_a": 200,
        "dossier_b": 404,
        "refused": 200,
        "folders": 200,
    },
    "official": {
        "home": 200,
        "list": 200,
        "dossier_a": 200,
        "dossier_b": 404,
        "refused": 403,
        "folders": 403,
    },
    "head": {
        "home": 200,
        "list": 200,
        "dossier_a": 200,
        "dossier_b": 404,
        "refused": 200,
        "folders": 200,
    },
    "admin": {
        "home": 200,
        "list": 403,
        "dossier_a": 403,
        "dossier_b": 403,
        "refused": 403,
        "folders": 200,
    },
}
"""Status per person and page; a person of office A opening office B's dossier gets 404."""

SHOWS_A: dict[str, dict[str, str]] = {
    "clerk": {"home": "refused", "list": "marker", "dossier_a": "marker", "refused": "refused"},
    "official": {"home": "marker", "list": "marker", "dossier_a": "marker"},
    "head": {"home": "marker", "list": "marker", "dossier_a": "marker", "refused": "refused"},
}
"""What of office A must appear where (the page works, not merely answers 200): its
applicant (overdue, so first on the start page of officials and heads) or its refused
folder (on a clerk's start page)."""


def _url(page: str, a: Side, b: Side) -> str:
    return {
        "home": "/",
        "list": "/ho-so/",
        "dossier_a": f"/ho-so/{a.dossier.code}/",
        "dossier_b": f"/ho-so/{b.dossier.code}/",
        "refused": "/ban-quet-loi/",
        "folders": "/thu-muc/",
    }[page]


def _client(person: str, a: Side, make_user: MakeUser) -> Client:
    if person == "anonymous":
        return Client()
    if person == "stranger":
        return signed_in(make_user("nguoi-la"))
    return signed_in(make_user(f"{person}-a", a.office, Role(person)))


def _b_strings(b: Side) -> list[str]:
    """What would betray office B: its dossier, applicant, folders and office."""
    return [
        b.dossier.code,
        b.marker,
        b.refused.folder_name,
        b.office.name,
        f"inbox/{b.office.code}/",
    ]


@pytest.mark.parametrize("person", PEOPLE)
def test_every_page_for_every_role(
    person: str, side_a: Side, side_b: Side, make_user: MakeUser
) -> None:
    """Each cell: the expected status, office A's data where the page is the person's, and
    never anything of office B."""
    client = _client(person, side_a, make_user)
    for page in PAGES:
        url = _url(page, side_a, side_b)
        response = client.get(url)
        assert response.status_code == EXPECTED[person][page], (person, page)
        # the address asked for comes back in the language switch's "next": not a leak
        html = response.content.decode().replace(f'value="{url}"', "")
        for leak in _b_strings(side_b):
            assert leak not in html, (person, page, leak)
        shown = SHOWS_A.get(person, {}).get(page)
        if shown is not None:
            wanted = side_a.marker if shown == "marker" else side_a.refused.folder_name
            assert wanted in html, (person, page)
        if response.status_code == 302:
            assert response["Location"].startswith("/dang-nhap/")


def test_the_clerks_pages_show_office_a_refusals_and_folder(
    side_a: Side, side_b: Side, make_user: MakeUser
) -> None:
    """A's refused folder and failed document are listed with their reasons; A's watched
    folder is described; B's are nowhere."""
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    refused = client.get("/ban-quet-loi/").content.decode()
    assert side_a.refused.folder_name in refused
    assert "Không tìm thấy hồ sơ mã" in refused
    assert "Trang 1 quá mờ (A)." in refused
    assert "Trang 1 quá mờ (B)." not in refused
    assert refused.count('class="resubmit"') == 2
    folders = client.get("/thu-muc/").content.decode()
    assert "inbox/xa-a/" in folders
    assert side_a.dossier.code in folders  # the last folder claimed there
    assert "inbox/xa-b/" not in folders


@pytest.mark.parametrize("person", ["clerk", "official", "head", "admin", "stranger"])
def test_resubmitting_office_b_scans(
    person: str, side_a: Side, side_b: Side, make_user: MakeUser
) -> None:
    """Only a clerk may send scans back, and a clerk of A cannot reach B's: 404, nothing moved."""
    if person == "stranger":
        client = signed_in(make_user("nguoi-la"))
    else:
        client = signed_in(make_user(f"{person}-a", side_a.office, Role(person)))
    expected = 404 if person == "clerk" else 403
    for url in (
        f"/ban-quet-loi/luot-nhan/{side_b.refused.pk}/gui-lai/",
        f"/ban-quet-loi/tai-lieu/{side_b.failed.pk}/gui-lai/",
    ):
        assert client.post(url).status_code == expected, url
    assert (Path(side_b.refused.path) / side_b.refused.folder_name).is_dir()
    assert Path(side_b.failed.source_dir).is_dir()
    assert not Event.objects.filter(kind="resubmitted").exists()


def test_a_clerk_cannot_resubmit_by_get(side_a: Side, make_user: MakeUser) -> None:
    """Re-submission changes files: a GET (a prefetch, a crawler) does nothing."""
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    response = client.get(f"/ban-quet-loi/luot-nhan/{side_a.refused.pk}/gui-lai/")
    assert response.status_code == 405
    assert Intake.objects.filter(pk=side_a.refused.pk).exists()
    assert (Path(side_a.refused.path) / side_a.refused.folder_name).is_dir()


def test_the_superuser_sees_both_offices(side_a: Side, side_b: Side) -> None:
    """The system's administrator is in every office."""
    root = User.objects.create_superuser("root", password=None)
    html = signed_in(root).get("/ho-so/").content.decode()
    assert side_a.marker in html and side_b.marker in html


def test_the_pages_speak_english_when_asked(side_a: Side, make_user: MakeUser) -> None:
    """The pages' own words come from the English catalogue (data stays as recorded)."""
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK, Role.HEAD))
    client.cookies["django_language"] = "en"
    wanted = {
        "/": ("Today's work", "Overdue dossiers: 1", "Refused scans: 2"),
        "/ho-so/": ("Search by code, applicant or content", "Clear filters", "Page 1"),
        f"/ho-so/{side_a.dossier.code}/": ("Timeline", "Documents and pages", "Recipient"),
        "/ban-quet-loi/": ("Refused scans", "Send again"),
        "/thu-muc/": ("Watched folders", "Waiting to be taken in", "Last taken in:"),
    }
    for url, phrases in wanted.items():
        html = client.get(url).content.decode()
        for phrase in phrases:
            assert phrase in html, (url, phrase)
