"""The admin in Vietnamese: every page, column, field and event in words, no Django English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client

from dossiers.models import Document, DocumentState, Dossier, Event
from dossiers.models.records import EVENT_WORDS, event_words, state_words
from tests.conftest import sign_in
from tests.dossiers.conftest import World
from tests.support.admin_site import ISSUED_ELSEWHERE, LIFE_RECORDS, RECORDED
from tests.support.admin_site import admin_url as _url
from tests.support.admin_site import english_left as _english

ROOT = Path(__file__).resolve().parents[2]
OUR_APPS = ("dossiers", "signing", "publishing", "watch_folders")


def _our_models() -> list[type[Model]]:
    return [
        model
        for model in admin.site._registry
        if model._meta.app_label in OUR_APPS or model is User
    ]


def _headers(html: str) -> list[str]:
    cells = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', html, re.S)
    texts = [re.sub(r"<[^>]+>", " ", cell) for cell in cells]
    return [" ".join(text.split()) for text in texts if text.strip()]


def _english_headers(model: type[Model], html: str) -> list[str]:
    """Column headers that are a field's bare English name (no verbose name given)."""
    defaults = {f.name.replace("_", " ").lower() for f in model._meta.get_fields()} | {"id", "pk"}
    return [header for header in _headers(html) if header.lower() in defaults]


@pytest.mark.django_db()
def test_every_page_answers_in_vietnamese_to_the_superuser(client: Client, world: World) -> None:
    sign_in(client, world.users["root"])
    index = client.get("/quan-tri/").content.decode()
    assert "Quản trị hệ thống một cửa" in index and "Danh mục quản trị" in index
    assert _english(index) == []
    for model in _our_models():
        listing = client.get(_url(model))
        assert listing.status_code == 200, model
        html = listing.content.decode()
        assert _english(html) == [], (model, _english(html))
        assert _english_headers(model, html) == [], model
        if "changelist-filter" in html:
            assert "Hiện số lượng" in html and "Theo " in html
        model_admin = admin.site._registry[model]
        expected_add = (
            403 if model in (*RECORDED, *LIFE_RECORDS, *ISSUED_ELSEWHERE, Dossier) else 200
        )
        assert client.get(_url(model, "add/")).status_code == expected_add, model
        for row in world.rows.get(model, {}).values():
            page = client.get(_url(model, "change/", row.pk))
            assert page.status_code == 200, (model, row)
            assert _english(page.content.decode()) == [], (model, _english(page.content.decode()))
        assert model_admin.has_view_permission(listing.wsgi_request)


def test_every_event_the_code_records_is_named_in_words() -> None:
    """Each ``record_event(…, "kind")`` (or a constant) and ``transition(…, kind="…")`` has
    its phrase, so a new kind of event cannot reach the admin as a bare code."""
    literal = re.compile(r'record_event\(\s*[\w.]+,\s*"(\w+)"')
    constant = re.compile(r"record_event\(\s*[\w.]+,\s*([A-Z_]+)\b")
    moved = re.compile(r'transition\((?:[^()]|\([^()]*\))*?kind="(\w+)"', re.S)
    found: set[str] = set()
    for package in ("dossiers", "watch_folders", "digitize", "signing", "publishing", "backoffice"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            source = path.read_text(encoding="utf-8")
            found.update(literal.findall(source), moved.findall(source))
            for name in constant.findall(source):
                value = re.search(rf'^{name}\s*=\s*"(\w+)"', source, re.M)
                assert value is not None, (path, name)
                found.add(value.group(1))
    assert {"registered", "scans_received", "signed", "delivered"} <= found
    assert sorted(found - set(EVENT_WORDS)) == []
    assert event_words("scans_received") == "Nhận bản quét"
    assert event_words("khong_ro") == "Sự kiện khác (khong_ro)"
    assert state_words("AWAITING_APPROVAL") == "Chờ phê duyệt"
    assert state_words("RECEIVED,DIGITIZING") == "Đã nhận bản quét, Đang số hóa"


@pytest.mark.django_db()
def test_events_read_in_words(client: Client, world: World) -> None:
    document = world.rows[Document]["a"]
    assert isinstance(document, Document)
    Event.objects.create(
        dossier=document.dossier,
        document=document,
        kind="scans_received",
        to_state=DocumentState.AWAITING_APPROVAL,
    )
    sign_in(client, world.users["root"])
    html = client.get(_url(Event), {"su_kien": "scans_received"}).content.decode()
    assert "Nhận bản quét" in html and "Chờ phê duyệt" in html
    assert "scans_received</td>" not in html and "AWAITING_APPROVAL" not in html
    dossier_page = client.get(_url(Dossier, "change/", document.dossier.pk)).content.decode()
    assert "Tiếp nhận hồ sơ" in dossier_page and "Nhận bản quét" in dossier_page


def test_every_field_of_our_tables_has_a_vietnamese_label() -> None:
    bare = [
        f"{model.__name__}.{f.name}"
        for model in _our_models()
        if model is not User
        for f in model._meta.concrete_fields
        if f.name != "id" and str(f.verbose_name) == f.name.replace("_", " ")
    ]
    assert bare == []
