"""The portal in Vietnamese first and in English second, through Django's catalogues."""

from __future__ import annotations

import re
import unicodedata

import pytest
from django.test import Client

from dossiers.models import Dossier
from publishing.services.status import describe

VIETNAMESE = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯ]|[\u0300-\u0323]")
"""A letter only Vietnamese writes (once decomposed, its tone marks too)."""


def _visible_text(html: str) -> str:
    """The page's text as a person reads it: no tags, scripts or styles; the language
    switch (which names Vietnamese in Vietnamese) left out."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    html = re.sub(r'<form class="lang".*?</form>', "", html, flags=re.S)
    return unicodedata.normalize("NFD", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.django_db
@pytest.mark.usefixtures("data_dirs")
@pytest.mark.parametrize("path", ["/tra-cuu/", "/kiem-tra/", "/"])
def test_a_page_asked_for_in_english_has_no_vietnamese_left(path: str) -> None:
    """With English preferred, the portal's own words on the page are all English."""
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    assert response.status_code == 200
    text = _visible_text(response.content.decode())
    assert VIETNAMESE.findall(text) == [], text
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
@pytest.mark.usefixtures("data_dirs")
def test_vietnamese_is_the_default() -> None:
    """A browser that states no preference (or an unknown one) gets Vietnamese."""
    response = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/tra-cuu/")
    assert "Tra cứu hồ sơ" in response.content.decode()
    assert response["Content-Language"] == "vi"


@pytest.mark.django_db
@pytest.mark.usefixtures("data_dirs")
def test_the_language_switch_works_without_a_csrf_token() -> None:
    """The switch works even on pages that send no referrer (where a CSRF token cannot)."""
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="vi")
    response = client.post("/ngon-ngu/", {"language": "en", "next": "/tra-cuu/"})
    assert response.status_code == 302 and response["Location"] == "/tra-cuu/"
    page = client.get("/tra-cuu/").content.decode()
    assert "Look up a dossier" in page and "Lookup secret" in page


@pytest.mark.django_db
@pytest.mark.usefixtures("data_dirs")
def test_the_status_history_speaks_the_citizens_language(dossier: Dossier) -> None:
    """The history sentences come from the catalogue: English when English is active."""
    from django.utils import timezone, translation

    from publishing.services.status import DossierFacts

    facts = DossierFacts(
        received_at=dossier.received_at,
        due_at=dossier.due_at,
        resolved_at=None,
    )
    with translation.override("en"):
        english = describe(facts, [], [], now=timezone.now())
    with translation.override("vi"):
        vietnamese = describe(facts, [], [], now=timezone.now())
    assert english.steps[0].text == "The one-stop desk received the dossier."
    assert vietnamese.steps[0].text == "Bộ phận một cửa đã tiếp nhận hồ sơ."
    assert english.headline == "Received" and vietnamese.headline == "Đã tiếp nhận"
