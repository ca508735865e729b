"""The admin in Vietnamese, scoped to each administrator's offices, with registered facts fixed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from dossiers.admin.scoping import office_path
from dossiers.models import (
    ApiToken,
    CalendarDay,
    Document,
    DocumentState,
    Dossier,
    DossierStep,
    Event,
    Letter,
    Membership,
    Office,
    Procedure,
    Role,
)
from dossiers.models.records import EVENT_WORDS, event_words, state_words
from dossiers.services.registry import register_dossier
from publishing.models import OutboxMessage, Rating, SmsTemplate
from signing.models import (
    AutoSignature,
    AutoSignPolicy,
    Batch,
    BatchItem,
    OfficeSigningPolicy,
    OrganisationKey,
    Signer,
)
from tests.conftest import DataDirs
from watch_folders.models import Intake

ROOT = Path(__file__).resolve().parents[2]
OUR_APPS = ("dossiers", "signing", "publishing", "watch_folders")
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


def sign_in(client: Client, user: User) -> Client:
    """Log in with the second factor already proven (as after the code step)."""
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@dataclass
class World:
    """Two offices' worth of every admin row: ``a`` (with a commune below it) and ``b``."""

    a: Office
    a_child: Office
    b: Office
    rows: dict[type[Model], dict[str, Model]] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)


def _office_rows(world: World, key: str, office: Office, data_dirs: DataDirs) -> None:
    n = len(world.rows.get(Procedure, {})) + 1
    procedure = Procedure.objects.create(
        office=office, code=f"P-{key}", name=f"Thủ tục {key}", limit_working_days=3
    )
    registered = register_dossier(
        code=f"000.00.21.H26-261122-{n:04d}",
        office=office,
        procedure=procedure,
        applicant_name=f"Người nộp {key}",
        email=f"{key}@example.vn",
        phone="0912345678",
    )
    dossier = registered.dossier
    document = Document.objects.create(
        dossier=dossier,
        state=DocumentState.AWAITING_APPROVAL,
        source_dir=str(data_dirs.intake / key),
        source_sha256="0" * 64,
        page_count=2,
    )
    member = User.objects.create_user(f"canbo-{key}")
    Membership.objects.create(user=member, office=office, role=Role.CLERK)
    official = User.objects.create_user(f"lanhdao-{key}")
    Membership.objects.create(user=official, office=office, role=Role.OFFICIAL)
    signer = Signer.objects.create(
        user=official,
        office=office,
        display_name=f"Lãnh đạo {key}",
        pkcs12_path=f"/srv/keys/{key}.p12",
    )
    batch = Batch.objects.create(office=office, signer=signer, procedure=procedure)
    BatchItem.objects.create(batch=batch, document=document)
    organisation_key = OrganisationKey.objects.create(
        office=office, pkcs12_path=f"/srv/org/{key}.p12", passphrase_file=f"/srv/org/{key}.pass"
    )
    second = Document.objects.create(
        dossier=dossier, state=DocumentState.APPROVED, source_dir="", source_sha256="1" * 64
    )
    rows: dict[type[Model], Model] = {
        Office: office,
        Procedure: procedure,
        Dossier: dossier,
        Document: document,
        Event: Event.objects.filter(dossier=dossier).first() or Event(),
        User: member,
        Signer: signer,
        Batch: batch,
        OrganisationKey: organisation_key,
        OfficeSigningPolicy: OfficeSigningPolicy.objects.create(office=office),
        AutoSignPolicy: AutoSignPolicy.objects.create(office=office, enabled=False),
        AutoSignature: AutoSignature.objects.create(
            document=second, organisation_key=organisation_key
        ),
        OutboxMessage: OutboxMessage.objects.create(
            document=document, channel="email", recipient=f"{key}@example.vn"
        ),
        Rating: Rating.objects.create(dossier=dossier, score="satisfied"),
        Intake: Intake.objects.create(
            office_code=office.code,
            dossier_code=dossier.code,
            folder_name=f"thu-muc-{key}",
            path=str(data_dirs.intake / key),
            sha256="2" * 64,
            outcome=Intake.Outcome.ACCEPTED,
        ),
    }
    for model, row in rows.items():
        world.rows.setdefault(model, {})[key] = row


@pytest.fixture()
def world(office: Office, other_office: Office, data_dirs: DataDirs) -> World:
    child = Office.objects.create(code="thon-con", name="Thôn Con", parent=office)
    built = World(a=office, a_child=child, b=other_office)
    for key, place in (("a", office), ("a-child", child), ("b", other_office)):
        _office_rows(built, key, place, data_dirs)
    CalendarDay.objects.create(day=date(2026, 12, 31), note="Nghỉ bù")
    SmsTemplate.objects.create(purpose="result_ready", text="{office}: HS {code} xong {link}")
    built.users["root"] = User.objects.create_superuser("quantri", password=None)
    admin_a = User.objects.create_user("quantri-xa", is_staff=True)
    Membership.objects.create(user=admin_a, office=office, role=Role.ADMIN)
    built.users["admin_a"] = admin_a
    return built


def _url(model: type[Model], page: str = "", pk: Any = None) -> str:
    base = f"/quan-tri/{model._meta.app_label}/{model._meta.model_name}/"
    return f"{base}{pk}/{page}" if pk is not None else f"{base}{page}"


def _our_models() -> list[type[Model]]:
    return [
        model
        for model in admin.site._registry
        if model._meta.app_label in OUR_APPS or model is User
    ]


def _english(html: str) -> list[str]:
    return [phrase for phrase in ENGLISH if phrase in html]


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
    page = client.get(url)
    assert page.status_code == 200, url
    parser = _Form()
    parser.feed(page.content.decode())
    return {k: v if len(v) > 1 else (v[0] if v else "") for k, v in parser.data.items()}


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


def test_every_model_finds_its_office() -> None:
    assert office_path(Dossier) == "office"
    assert office_path(Document) == "dossier__office"
    assert office_path(BatchItem) == "batch__office"
    assert office_path(Office) == "pk"
    assert office_path(CalendarDay) is None


@pytest.mark.django_db()
def test_a_dossier_page_shows_no_secret(client: Client, world: World) -> None:
    sign_in(client, world.users["root"])
    dossier = world.rows[Dossier]["a"]
    assert isinstance(dossier, Dossier)
    html = client.get(_url(Dossier, "change/", dossier.pk)).content.decode()
    assert dossier.secret_hash not in html and "Đã cấp" in html
    assert timezone.localtime(dossier.received_at).strftime("%H:%M") in html
