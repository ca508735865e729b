"""Tests of the lookup's reads: the SQL written once gives what the ORM gives, in few queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.template import engines
from django.template.loader import get_template
from django.test import Client, RequestFactory
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from pytest_django import DjangoAssertNumQueries

from accounts.middleware import SignInMiddleware
from dossiers.models import Document, DocumentState, Dossier, Letter, LetterForm, Regime
from dossiers.services.workflow import record_event
from publishing.services.lookup import LETTER_SIGNED, find_dossier, lookup_facts
from publishing.services.status import EventFact
from tests.publishing.conftest import Published


def test_find_dossier_reads_what_the_lookup_needs(published: Published) -> None:
    found = find_dossier(published.dossier.code)
    stored = Dossier.objects.select_related("office", "procedure").get(pk=published.dossier.pk)
    assert found == stored
    assert found is not None
    assert (found.code, found.secret_hash) == (stored.code, stored.secret_hash)
    assert (found.received_at, found.due_at, found.resolved_at) == (
        stored.received_at,
        stored.due_at,
        stored.resolved_at,
    )
    assert found.office_name == stored.office.name  # type: ignore[attr-defined]
    assert found.procedure_name == stored.procedure.name  # type: ignore[attr-defined]
    assert found.check_secret(published.secret)
    assert find_dossier(published.dossier.code + "9") is None


def _letter(dossier: Dossier, form: str, state: str, signed_path: str) -> Letter:
    return Letter.objects.create(
        dossier=dossier,
        form=form,
        regime=Regime.DECREE_118,
        number=f"{form}/TB",
        title=f"Mẫu {form}",
        text="Nội dung.",
        state=state,
        signed_path=signed_path,
        signed_at=timezone.now(),
    )


def test_lookup_facts_match_the_orm(published: Published) -> None:
    dossier = published.dossier
    later = Document.objects.create(
        dossier=dossier, state=DocumentState.REJECTED, source_sha256="1" * 64, reason="Mờ."
    )
    record_event(dossier, "rejected", detail={"reason": "Bản quét mờ"}, document=later)
    record_event(dossier, "resolved")
    shown = [
        _letter(dossier, LetterForm.SUPPLEMENT, Letter.State.SIGNED, "/kho/02.pdf"),
        _letter(dossier, LetterForm.STOP, Letter.State.SENT, "/kho/05.pdf"),
    ]
    _letter(dossier, LetterForm.REFUSAL, Letter.State.APPROVED, "")
    _letter(dossier, LetterForm.APOLOGY, Letter.State.CANCELLED, "/kho/04.pdf")
    assert lookup_facts(dossier.pk).letters == ()  # no letter signed in its history yet
    for letter in shown:  # as dossiers.services.letters.mark_signed records it
        record_event(dossier, LETTER_SIGNED, detail={"letter": letter.pk, "form": letter.form})

    facts = lookup_facts(dossier.pk)

    documents = list(dossier.documents.order_by("pk"))
    assert list(facts.documents) == documents
    assert [(d.state, d.reason, d.signed_path) for d in facts.documents] == [
        (d.state, d.reason, d.signed_path) for d in documents
    ]
    assert list(facts.events) == [
        EventFact(kind, at, document_id, detail)
        for kind, at, document_id, detail in dossier.events.values_list(
            "kind", "at", "document_id", "detail"
        )
    ]
    assert [e.detail for e in facts.events if e.kind == "rejected"] == [{"reason": "Bản quét mờ"}]
    assert list(facts.letters) == shown
    assert [(x.title, x.number, x.signed_at) for x in facts.letters] == [
        (x.title, x.number, x.signed_at) for x in shown
    ]
    assert facts.result == published.document


def test_a_result_is_the_newest_published_document(published: Published) -> None:
    newer = Document.objects.create(
        dossier=published.dossier,
        state=DocumentState.DELIVERED,
        source_sha256="2" * 64,
        signed_path=published.document.signed_path,
    )
    Document.objects.create(
        dossier=published.dossier, state=DocumentState.SIGNED, source_sha256="3" * 64
    )
    assert lookup_facts(published.dossier.pk).result == newer


def test_a_lookup_runs_three_queries_and_none_for_a_session(
    client: Client, published: Published, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    """The dossier, its documents and events (its letters once one was signed): no
    session, user or role is read for an anonymous citizen; a wrong secret costs one."""
    with django_assert_num_queries(0):
        assert client.get("/tra-cuu/").status_code == 200
    form = {"code": published.dossier.code, "secret": published.secret}
    with django_assert_num_queries(3):
        response = client.post("/tra-cuu/", form)
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    with django_assert_num_queries(1):
        wrong = client.post("/tra-cuu/", {**form, "secret": "SAI" * 11})
    assert wrong.status_code == 403
    letter = _letter(published.dossier, LetterForm.STOP, Letter.State.SENT, "/kho/05.pdf")
    record_event(published.dossier, LETTER_SIGNED, detail={"letter": letter.pk})
    with django_assert_num_queries(4):
        shown = client.post("/tra-cuu/", form)
    assert [x for x, _ in shown.context["letters"]] == [letter]


def test_the_page_writes_each_time_in_vietnam_time(client: Client, published: Published) -> None:
    received = timezone.now().replace(microsecond=0) - timedelta(days=3)
    Dossier.objects.filter(pk=published.dossier.pk).update(received_at=received)
    response = client.post(
        "/tra-cuu/", {"code": published.dossier.code, "secret": published.secret}
    )
    html = response.content.decode()
    local = timezone.localtime(received)
    assert f"<dd>{local:%H:%M %d/%m/%Y}</dd>" in html
    assert f'<time datetime="{local.isoformat()}">{local:%H:%M %d/%m/%Y}</time>' in html
    assert re.search(r'<time datetime="[^"]+\+07:00">\d\d:\d\d \d\d/\d\d/\d{4}</time>', html)


@pytest.mark.usefixtures("data_dirs")
@pytest.mark.django_db
def test_a_signed_in_persons_requests_still_go_through_the_sign_in_check(client: Client) -> None:
    """The shortcut is for requests without a session: a superuser who gave only a
    password is still sent to the code step."""
    admin = User.objects.create_superuser("quantri", password="mat-khau-rat-dai-123")
    client.force_login(admin)
    response = client.get("/tra-cuu/")
    assert response.status_code == 302
    assert "/dang-nhap/" in response["Location"]


def test_without_a_session_cookie_the_sign_in_check_loads_nothing() -> None:
    """No user and no session is loaded for a request that carries no session cookie."""

    def unloadable() -> User:
        raise AssertionError("the user was loaded")

    request = RequestFactory().get("/tra-cuu/")
    request.user = SimpleLazyObject(unloadable)  # type: ignore[assignment]
    answered = HttpResponse("ok")
    assert SignInMiddleware(lambda _request: answered)(request) is answered


def test_templates_are_compiled_once() -> None:
    """The cached loader keeps each compiled template: a page is never parsed again."""
    loaders = engines["django"].engine.template_loaders  # type: ignore[attr-defined]
    assert [type(loader).__module__ for loader in loaders] == ["django.template.loaders.cached"]
    compiled = [getattr(get_template("publishing/lookup.html"), "template", None) for _ in "ab"]
    assert compiled[0] is not None and compiled[0] is compiled[1]
