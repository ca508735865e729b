"""The outbox in the admin: filtered, read-only, recipients masked, and "send again"."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks

from dossiers.models import Event
from publishing.models import OutboxMessage
from tests.conftest import sign_in
from tests.publishing.conftest import MakeDocument
from tests.publishing.test_delivery import PHONE

URL = "/quan-tri/publishing/outboxmessage/"


@pytest.fixture()
def staff_client(client: Client, db: None) -> Client:
    """A superuser's client (no password: hashing one costs most of a second)."""
    sign_in(client, User.objects.create_superuser("admin", password=None))
    return client


@pytest.fixture()
def failed_email(make_published: MakeDocument) -> OutboxMessage:
    document = make_published(phone=PHONE)
    OutboxMessage.objects.filter(document=document, channel="email").update(
        state=OutboxMessage.State.FAILED, attempts=8, last_error="SMTPDataError 451"
    )
    OutboxMessage.objects.filter(document=document, channel="sms").update(
        state=OutboxMessage.State.SENT, attempts=1
    )
    return OutboxMessage.objects.get(document=document, channel="email")


def test_the_outbox_is_listed_filtered_and_masked(
    staff_client: Client, failed_email: OutboxMessage
) -> None:
    page = staff_client.get(URL, {"state__exact": "failed", "channel__exact": "email"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "bi***@example.vn" in html and "binh@example.vn" not in html
    assert "SMTPDataError 451" in html
    assert "Gửi lại các tin đã chọn" in html
    sms = staff_client.get(URL, {"channel__exact": "sms"}).content.decode()
    assert "091****678" in sms and PHONE not in sms


def test_nobody_creates_edits_or_deletes_outbox_rows(
    staff_client: Client, failed_email: OutboxMessage
) -> None:
    assert staff_client.get(f"{URL}add/").status_code == 403
    detail = staff_client.get(f"{URL}{failed_email.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    edit = staff_client.post(f"{URL}{failed_email.pk}/change/", {"state": "sent"})
    assert edit.status_code == 403
    assert staff_client.post(f"{URL}{failed_email.pk}/delete/", {"post": "yes"}).status_code == 403
    failed_email.refresh_from_db()
    assert failed_email.state == OutboxMessage.State.FAILED


def test_send_again_puts_failed_messages_back_in_line_and_leaves_sent_ones(
    staff_client: Client,
    failed_email: OutboxMessage,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    sms = OutboxMessage.objects.get(document=failed_email.document, channel="sms")
    with (
        mock.patch("publishing.services.delivery.enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = staff_client.post(
            URL,
            {"action": "send_again_action", "_selected_action": [failed_email.pk, sms.pk]},
            follow=True,
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Đã xếp 1 tin để gửi lại." in html and "1 tin không gửi lại" in html
    enqueue.assert_called_once_with("publishing.tasks.deliver_document", failed_email.document_id)
    failed_email.refresh_from_db()
    assert (failed_email.state, failed_email.attempts) == (OutboxMessage.State.PENDING, 0)
    sms.refresh_from_db()
    assert sms.state == OutboxMessage.State.SENT
    event = Event.objects.get(kind="delivery_resent")
    assert event.actor == "admin" and event.detail == {
        "channel": "email",
        "outbox": failed_email.pk,
    }
