"""Letters to the citizen on the back office: the head reviews, edits and signs them on the
letter's page (wrong passphrases throttled), and finds them on their start page."""

from __future__ import annotations

import io
import logging
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.utils import timezone
from pypdf import PdfReader
from pytest_django import DjangoCaptureOnCommitCallbacks

from backoffice.services.letters_waiting import letters_waiting
from core.vntime import to_vn
from dossiers.models import CalendarDay, Dossier, Letter, LetterForm, Office, Role
from dossiers.services.letters import draft_letter
from tests.backoffice.conftest import signed_in
from tests.backoffice.life_people import kinds, make_member, pdf_text
from tests.conftest import MakeDossier
from tests.support.pki import TEST_PASSPHRASE


@pytest.fixture()
def other_head(other_office: Office) -> User:
    return make_member("thutruong-khac", other_office, Role.HEAD)


def _next_working_day(days: int) -> date:
    today = to_vn(timezone.now()).date()
    return CalendarDay.work_calendar().add_working_days(today, days)


def _late_apology(make_dossier: MakeDossier) -> tuple[Dossier, Letter]:
    dossier = make_dossier(received_at=timezone.now() - timedelta(days=20)).dossier
    assert dossier.due_at < timezone.now()
    letter = draft_letter(dossier, LetterForm.APOLOGY, reason="", late_due=dossier.due_at)
    return dossier, letter


@pytest.mark.usefixtures("data_dirs", "eager_celery")
def test_a_head_reviews_and_signs_an_apology(
    make_dossier: MakeDossier,
    head: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    dossier, letter = _late_apology(make_dossier)
    client = signed_in(head)
    url = f"/ho-so/{dossier.code}/van-ban/{letter.pk}/"
    page = client.get(url).content.decode()
    assert "Cơ quan phối hợp liên thông chưa trả kết quả đúng hạn" in page  # the reasons list
    assert 'type="password"' in page

    new_day = _next_working_day(4)
    response = client.post(
        url,
        {
            "action": "apology",
            "ly_do": "khac",
            "ly_do_khac": "Mất điện kéo dài",
            "ngay_hen": new_day,
        },
        follow=True,
    )
    assert "Đã cập nhật lý do và ngày hẹn lại" in response.content.decode()
    letter.refresh_from_db()
    assert letter.reason == "Mất điện kéo dài" and "Mất điện kéo dài" in letter.text
    assert letter.new_due_at is not None and to_vn(letter.new_due_at).date() == new_day
    assert to_vn(letter.new_due_at).hour == 17

    text = letter.text + "\nXin cảm ơn."
    client.post(url, {"action": "save", "noi_dung": text})
    letter.refresh_from_db()
    assert letter.text.endswith("Xin cảm ơn.") and "letter_edited" in kinds(dossier)

    client.post(url, {"action": "approve"})
    letter.refresh_from_db()
    assert letter.state == Letter.State.APPROVED and letter.number
    preview = client.get(f"/ho-so/{dossier.code}/van-ban/{letter.pk}.pdf")
    assert preview.status_code == 200
    assert "Mất điện kéo dài" in pdf_text(b"".join(preview.streaming_content))  # type: ignore[attr-defined]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"action": "sign", "passphrase": TEST_PASSPHRASE.decode()}, follow=True
        )
    assert "Đã ký số văn bản" in response.content.decode()
    letter.refresh_from_db()
    assert letter.state in (Letter.State.SIGNED, Letter.State.SENT)
    assert letter.signed_by == "thutruong"
    dossier.refresh_from_db()
    assert dossier.due_at == letter.new_due_at
    assert {"letter_signed", "apology_issued", "due_moved"} <= kinds(dossier)
    signed = client.get(f"/ho-so/{dossier.code}/van-ban/{letter.pk}.pdf")
    data = b"".join(signed.streaming_content)  # type: ignore[attr-defined]
    assert PdfReader(io.BytesIO(data)).get_fields()  # the signature field
    page = client.get(url).content.decode()
    assert 'type="password"' not in page and "Mở tệp PDF đã ký" in page
    assert TEST_PASSPHRASE.decode() not in caplog.text


@pytest.mark.usefixtures("data_dirs")
def test_a_wrong_passphrase_signs_nothing_and_the_throttle_speaks(
    make_dossier: MakeDossier, head: User
) -> None:
    dossier, letter = _late_apology(make_dossier)
    client = signed_in(head)
    url = f"/ho-so/{dossier.code}/van-ban/{letter.pk}/"
    response = client.post(url, {"action": "sign", "passphrase": "sai-roi"}, follow=True)
    assert "Mật khẩu khóa ký không đúng" in response.content.decode()
    letter.refresh_from_db()
    assert letter.state == Letter.State.DRAFT and not letter.signed_path
    assert "letter_signed" not in kinds(dossier)
    for _ in range(5):
        response = client.post(url, {"action": "sign", "passphrase": "sai-nua"}, follow=True)
    assert "lần liên tiếp" in response.content.decode()
    response = client.post(
        url, {"action": "sign", "passphrase": TEST_PASSPHRASE.decode()}, follow=True
    )
    assert "chỉ được thử lại sau" in response.content.decode()  # closed even for the right one
    letter.refresh_from_db()
    assert letter.state != Letter.State.SIGNED


@pytest.mark.usefixtures("data_dirs")
def test_the_letter_page_is_the_heads(
    make_dossier: MakeDossier, head: User, clerk: User, official: User, other_head: User
) -> None:
    dossier, letter = _late_apology(make_dossier)
    url = f"/ho-so/{dossier.code}/van-ban/{letter.pk}/"
    for user in (clerk, official):
        assert signed_in(user).get(url).status_code == 403
        assert signed_in(user).post(url, {"action": "approve"}).status_code == 403
    assert signed_in(other_head).get(url).status_code == 404
    assert (
        signed_in(other_head).get(f"/ho-so/{dossier.code}/van-ban/{letter.pk}.pdf").status_code
        == 404
    )
    other = make_dossier().dossier
    assert signed_in(head).get(f"/ho-so/{other.code}/van-ban/{letter.pk}/").status_code == 404
    assert signed_in(head).get(f"/ho-so/{dossier.code}/van-ban/{letter.pk}.pdf").status_code == 404
    letter.refresh_from_db()
    assert letter.state == Letter.State.DRAFT


@pytest.mark.usefixtures("data_dirs")
def test_letters_awaiting_the_heads_signature(
    make_dossier: MakeDossier, head: User, clerk: User, other_head: User
) -> None:
    """The "Thư chờ ký" section of a head's start page (``_letters_waiting.html``)."""
    dossier, letter = _late_apology(make_dossier)
    waiting = letters_waiting(head)
    assert waiting is not None and waiting.letters == [letter] and waiting.count == 1
    html = render_to_string(
        "backoffice/_letters_waiting.html",
        {"letters_waiting": waiting},
        request=signed_in(head).get("/").wsgi_request,
    )
    assert 'id="letters-waiting"' in html and "Thư chờ ký: 1" in html
    assert f"/ho-so/{dossier.code}/van-ban/{letter.pk}/" in html
    assert letters_waiting(clerk) is None
    other = letters_waiting(other_head)
    assert other is not None and other.count == 0
    response = signed_in(head).get("/")
    assert response.context["letters_waiting"] == waiting
    page = response.content.decode()
    assert "Thư chờ ký: 1" in page and f"/ho-so/{dossier.code}/van-ban/{letter.pk}/" in page
