"""Citizens rate the service once per dossier from a signed link; the satisfaction figures."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, Settings

from dossiers.models import Dossier, Office, Procedure
from publishing.models import Rating
from publishing.services.rating import (
    RATING_VALID,
    rating_link,
    rating_token,
    record_rating,
    satisfaction,
)
from tests.conftest import MakeDossier

pytestmark = pytest.mark.usefixtures("data_dirs")


def resolved(dossier: Dossier, at: datetime | None = None) -> Dossier:
    Dossier.objects.filter(pk=dossier.pk).update(
        resolved_at=at or timezone.now(), status=Dossier.Status.RESOLVED
    )
    dossier.refresh_from_db()
    return dossier


def path_of(link: str) -> str:
    return link.removeprefix("https://motcua.example.vn")


@pytest.fixture()
def base_url(settings: Settings) -> None:
    settings.PUBLIC_BASE_URL = "https://motcua.example.vn"


@pytest.mark.usefixtures("base_url")
def test_the_signed_link_rates_once_and_then_shows_the_answer(
    client: Client, make_dossier: MakeDossier
) -> None:
    """The link names the dossier only; the form records one rating; the page then shows it."""
    dossier = resolved(make_dossier().dossier)
    link = rating_link(dossier)
    assert link is not None and link.startswith("https://motcua.example.vn/danh-gia/")
    assert rating_link(dossier) == link  # the same in the email, the SMS and every retry
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token.split(":")[0] == str(dossier.pk)
    for personal in (dossier.code, dossier.applicant_name, dossier.email):
        assert personal not in link

    page = client.get(path_of(link))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert dossier.code in html and "Rất hài lòng" in html and "csrfmiddlewaretoken" in html
    assert 'name="viewport"' in html
    assert dossier.applicant_name not in html

    done = client.post(path_of(link), {"score": "satisfied", "comment": "  Cán bộ nhiệt tình.  "})
    assert done.status_code == 302
    rating = Rating.objects.get(dossier=dossier)
    assert (rating.score, rating.comment) == ("satisfied", "Cán bộ nhiệt tình.")
    thanks = client.get(done["Location"]).content.decode()
    assert "Cảm ơn" in thanks and "Hài lòng" in thanks

    again = client.post(path_of(link), {"score": "unsatisfied", "comment": "khác"})
    assert again.status_code == 409
    assert "chỉ được đánh giá một lần" in again.content.decode()
    assert Rating.objects.get(dossier=dossier).score == "satisfied"
    shown = client.get(path_of(link))
    assert shown.status_code == 200 and 'id="recorded">Hài lòng<' in shown.content.decode()


@pytest.mark.usefixtures("base_url")
def test_forged_damaged_or_expired_links_are_refused(
    client: Client, make_dossier: MakeDossier
) -> None:
    dossier = resolved(make_dossier().dossier)
    other = resolved(make_dossier().dossier)
    token = rating_token(dossier)
    number, stamp, signature = token.split(":")
    forged = [
        f"{other.pk}:{stamp}:{signature}",  # another dossier under this signature
        f"{number}:{stamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{number}:{stamp}",
        "khong-phai-ma",
    ]
    for bad in forged:
        response = client.get(f"/danh-gia/{bad}/")
        assert response.status_code == 404
        assert "không đúng" in response.content.decode()
        refused = client.post(f"/danh-gia/{bad}/", {"score": "very_satisfied"})
        assert refused.status_code == 404
    assert not Rating.objects.exists()

    old = resolved(make_dossier().dossier, at=timezone.now() - RATING_VALID - timedelta(hours=1))
    assert rating_link(old) is None
    expired = client.get(f"/danh-gia/{rating_token(old)}/")
    assert expired.status_code == 404 and "hết hạn" in expired.content.decode()

    unresolved = make_dossier().dossier
    assert rating_link(unresolved) is None


@pytest.mark.usefixtures("base_url")
def test_a_bad_form_is_shown_again(client: Client, make_dossier: MakeDossier) -> None:
    link = rating_link(resolved(make_dossier().dossier))
    assert link is not None
    response = client.post(path_of(link), {"score": "tuyet-voi", "comment": "x" * 501})
    assert response.status_code == 400
    assert not Rating.objects.exists()


def test_record_rating_keeps_the_first(make_dossier: MakeDossier) -> None:
    dossier = resolved(make_dossier().dossier)
    first, created = record_rating(dossier, "very_satisfied", "")
    assert created
    second, created = record_rating(dossier, "unsatisfied", "muộn")
    assert not created and second.pk == first.pk and second.score == "very_satisfied"


def test_satisfaction_counts_by_office_and_period_in_one_query(
    make_dossier: MakeDossier,
    office: Office,
    other_office: Office,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    now = timezone.now()
    scores = ["very_satisfied", "very_satisfied", "satisfied", "unsatisfied"]
    for score in scores:
        Rating.objects.create(dossier=resolved(make_dossier().dossier), score=score, created_at=now)
    Rating.objects.create(  # before the period
        dossier=resolved(make_dossier().dossier),
        score="unsatisfied",
        created_at=now - timedelta(days=40),
    )
    procedure = Procedure.objects.create(
        office=other_office, code="CT", name="Chứng thực", limit_working_days=1
    )
    elsewhere = make_dossier().dossier
    Dossier.objects.filter(pk=elsewhere.pk).update(office=other_office, procedure=procedure)
    Rating.objects.create(dossier=resolved(elsewhere), score="unsatisfied", created_at=now)

    start, end = now - timedelta(days=30), now + timedelta(seconds=1)
    with django_assert_num_queries(1):
        figures = satisfaction([office.pk], start, end)
    assert (figures.very_satisfied, figures.satisfied, figures.unsatisfied) == (2, 1, 1)
    assert figures.total == 4 and figures.rate == pytest.approx(0.75)
    both = satisfaction([office.pk, other_office.pk], start, end)
    assert (both.unsatisfied, both.total) == (2, 5)
    nothing = satisfaction([office.pk], end, end + timedelta(days=1))
    assert nothing.total == 0 and nothing.rate is None


@pytest.mark.usefixtures("base_url")
def test_a_rating_without_the_csrf_token_is_refused(make_dossier: MakeDossier) -> None:
    link = rating_link(resolved(make_dossier().dossier))
    assert link is not None
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(path_of(link), {"score": "satisfied"}).status_code == 403
    assert not Rating.objects.exists()
