"""Reading the Django admin in tests: addresses, forms as posted, English left, rows not added."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from django.db.models import Model
from django.test import Client

from dossiers.models import ApiToken, Document, DossierStep, Event, Letter
from publishing.models import OutboxMessage, Rating
from signing.models import AutoSignature, Batch
from watch_folders.models import Intake

__all__ = [
    "ENGLISH",
    "ISSUED_ELSEWHERE",
    "LIFE_RECORDS",
    "RECORDED",
    "admin_url",
    "english_left",
    "form_of",
]

RECORDED = (Document, Event, Batch, AutoSignature, OutboxMessage, Rating, Intake)
"""Rows the pipeline writes: nobody adds, changes or deletes them in the admin."""
LIFE_RECORDS = (Letter, DossierStep)
"""Letters and hand-offs, written by the back office's services: read here, never added."""
ISSUED_ELSEWHERE = (ApiToken,)
"""Rows made by a command that shows their secret once: seen and revoked here, not added."""
ENGLISH = (
    "Show counts",
    "Hide counts",
    "Django",
    "to change",
    ">Filter<",
    "Clear all filters",
    "Skip to main content",
    "Toggle theme",
    ">Home<",
    " By ",
    "Select all objects",
    "Add link",
    "Breadcrumbs",
)
"""Django's English where the admin would fall back to it (our catalogue or Django's covers
each of these in Vietnamese)."""


def admin_url(model: type[Model], page: str = "", pk: Any = None) -> str:
    """The admin's address of ``model``'s list, or of ``page`` ("add/", "change/" …) of it or
    of its row ``pk``."""
    base = f"/quan-tri/{model._meta.app_label}/{model._meta.model_name}/"
    return f"{base}{pk}/{page}" if pk is not None else f"{base}{page}"


def english_left(html: str) -> list[str]:
    """The phrases of ``ENGLISH`` found on an admin page."""
    return [phrase for phrase in ENGLISH if phrase in html]


class _Form(HTMLParser):
    """The fields of the admin's change form, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "file", "button"):
            checkable = a.get("type") in ("checkbox", "radio")
            if checkable and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value", "on" if checkable else ""))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.data[self._textarea][0] = self.data[self._textarea][0].removeprefix("\n")
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def form_of(client: Client, url: str) -> dict[str, Any]:
    """The admin form at ``url`` as a browser would post it back unchanged: a field's one
    value, or the list of a field given several."""
    page = client.get(url)
    assert page.status_code == 200, url
    parser = _Form()
    parser.feed(page.content.decode())
    return {k: v if len(v) > 1 else (v[0] if v else "") for k, v in parser.data.items()}
