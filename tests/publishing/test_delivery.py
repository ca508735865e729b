"""Tests of publishing a signed result and delivering it by email and SMS through the outbox."""

from __future__ import annotations

import json
import smtplib
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from dossiers.files import store_bytes
from dossiers.models import Document, DocumentState, Dossier, Event
from dossiers.services.leases import QUEUED_GRACE_S
from dossiers.services.registry import Registered
from dossiers.services.workflow import transition
from publishing.models import OutboxMessage
from publishing.services import delivery, outbox
from publishing.services.delivery import (
    DELIVERY_RETRIES,
    DELIVERY_SOFT_TIME_LIMIT_S,
    DELIVERY_TIME_LIMIT_S,
    LEASE_S,
    deliver,
    delivery_owed,
    masked,
    overdue_deliveries,
)
from publishing.tasks import deliver_document, publish_document, recover_publishing
from tests.conftest import DataDirs, MakeDossier
from tests.publishing.conftest import MakeDocument

PHONE = "0912345678"


def sms_files(data_dirs: DataDirs) -> list[Path]:
    folder = data_dirs.outbox / "sms"
    return sorted(folder.iterdir()) if folder.exists() else []


def later(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


@pytest.mark.usefixtures("eager_celery")
def test_signature_leads_to_publication_and_delivery(
    data_dirs: DataDirs,
    make_dossier: MakeDossier,
    signed_result: bytes,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Once signed, the dossier is resolved early, and the citizen gets the PDF and an SMS."""
    registered: Registered = make_dossier(phone=PHONE)
    dossier = registered.dossier
    path, digest = store_bytes(signed_result, data_dirs.store)
    document = Document.objects.create(
        dossier=dossier,
        state=DocumentState.APPROVED,
        source_dir="",
        source_sha256="0" * 64,
        signed_path=str(path),
        signed_sha256=digest,
    )
    Document.objects.filter(pk=document.pk).update(state=DocumentState.APPROVED)

    # The signing transition is what sets publication off, after its commit.
    with django_capture_on_commit_callbacks(execute=True):
        assert transition(document.pk, DocumentState.APPROVED, DocumentState.SIGNED, kind="signed")

    document.refresh_from_db()
    assert document.state == DocumentState.DELIVERED
    dossier.refresh_from_db()
    assert dossier.status == Dossier.Status.RESOLVED
    assert dossier.resolved_at is not None
    assert dossier.timeliness == "early"
    resolved = Event.objects.get(dossier=dossier, kind="resolved")
    assert resolved.detail == {"timeliness": "early"}

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["binh@example.vn"]
    assert dossier.code in message.subject
    body = str(message.body)
    for expected in (
        "Trước hạn".lower(),
        dossier.office.name,
        dossier.procedure.name,
        "/danh-gia/",
    ):
        assert expected in body
    assert f"/tra-cuu/?ma={dossier.code}" in body
    assert message.attachments == [
        (f"ket-qua-{dossier.code}.pdf", signed_result, "application/pdf")
    ]
    email_row = OutboxMessage.objects.get(document=document, channel=OutboxMessage.Channel.EMAIL)
    assert message.extra_headers["Message-ID"] == (
        f"<outbox-{email_row.pk}-{document.signed_sha256[:12]}@localhost>"
    )
    whole = message.message().as_string()
    assert registered.secret not in whole and dossier.secret_hash not in whole

    (sms,) = sms_files(data_dirs)
    payload = json.loads(sms.read_text(encoding="utf-8"))
    assert payload["to"] == PHONE
    assert dossier.code in payload["text"] and "/danh-gia/" in payload["text"]
    assert payload["text"].startswith("UBND xa Thu Nghiem: HS ")  # unaccented, office too
    assert payload["text"].isascii() and len(payload["text"]) <= 160
    assert registered.secret not in payload["text"]
    assert not sms.name.startswith(".")

    sent = OutboxMessage.objects.filter(document=document)
    assert {(m.channel, m.recipient, m.state, m.attempts) for m in sent} == {
        (OutboxMessage.Channel.EMAIL, "binh@example.vn", OutboxMessage.State.SENT, 1),
        (OutboxMessage.Channel.SMS, PHONE, OutboxMessage.State.SENT, 1),
    }
    assert all(m.claimed_until is None and m.claimed_by == "" for m in sent)

    # A redelivered publish message for a delivered document sends nothing more.
    publish_document(document.pk)
    deliver_document(document.pk)
    assert len(mailoutbox) == 1 and len(sms_files(data_dirs)) == 1


@pytest.mark.usefixtures("eager_celery")
def test_no_phone_means_no_sms_and_no_contact_means_no_message(
    data_dirs: DataDirs,
    make_signed: MakeDocument,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Only the channels the citizen gave are used; without any the result is still delivered."""
    email_only = make_signed()
    silent = make_signed(email="")
    with django_capture_on_commit_callbacks(execute=True):
        publish_document.delay(email_only.pk)
        publish_document.delay(silent.pk)
    assert len(mailoutbox) == 1
    assert sms_files(data_dirs) == []
    assert not OutboxMessage.objects.filter(channel=OutboxMessage.Channel.SMS).exists()
    assert not OutboxMessage.objects.filter(document=silent).exists()
    for document in (email_only, silent):
        document.refresh_from_db()
        assert document.state == DocumentState.DELIVERED


def test_failed_email_is_retried_without_resending_the_sms(
    data_dirs: DataDirs, make_published: MakeDocument, mailoutbox: list[EmailMessage]
) -> None:
    """A mail server error leaves the email pending for a retry when it is due; what was sent
    is not sent again."""
    document = make_published(phone=PHONE)
    with (
        mock.patch.object(EmailMessage, "send", side_effect=smtplib.SMTPDataError(451, b"busy")),
        mock.patch.object(deliver_document, "retry", side_effect=RuntimeError("retry")) as retry,
        pytest.raises(RuntimeError, match="retry"),
    ):
        deliver_document(document.pk)
    (countdown,) = (call.kwargs["countdown"] for call in retry.call_args_list)
    assert 25 <= countdown <= DELIVERY_RETRIES.first_delay_s
    email = OutboxMessage.objects.get(document=document, channel=OutboxMessage.Channel.EMAIL)
    assert (email.state, email.attempts, email.last_error) == (
        OutboxMessage.State.PENDING,
        1,
        "SMTPDataError 451",
    )
    assert email.claimed_until is None
    document.refresh_from_db()
    assert document.state == DocumentState.PUBLISHED
    assert len(sms_files(data_dirs)) == 1

    # not yet due: nothing is tried
    assert deliver(document.pk) == delivery.Delivery()
    assert mailoutbox == []

    outcome = deliver(document.pk, now=later(countdown + 1))
    assert (outcome.sent, outcome.failed, outcome.delivered) == (1, 0, True)
    assert len(mailoutbox) == 1
    assert len(sms_files(data_dirs)) == 1
    email.refresh_from_db()
    assert (email.state, email.attempts, email.last_error) == (OutboxMessage.State.SENT, 2, "")
    document.refresh_from_db()
    assert document.state == DocumentState.DELIVERED


def test_publishing_an_unsigned_document_does_nothing(
    data_dirs: DataDirs, make_dossier: MakeDossier, mailoutbox: list[EmailMessage]
) -> None:
    """Publication only starts from SIGNED; an early message leaves the document alone."""
    dossier = make_dossier().dossier
    document = Document.objects.create(
        dossier=dossier, state=DocumentState.AWAITING_APPROVAL, source_sha256="0" * 64
    )
    publish_document(document.pk)
    document.refresh_from_db()
    dossier.refresh_from_db()
    assert document.state == DocumentState.AWAITING_APPROVAL
    assert dossier.resolved_at is None
    assert mailoutbox == []


def test_delivery_that_runs_out_of_tries_is_marked_failed_and_left_alone(
    make_published: MakeDocument, mailoutbox: list[EmailMessage]
) -> None:
    """Each try waits longer, capped; after the last one the email is FAILED with an event,
    and nobody tries it again."""
    document = make_published()
    assert delivery_owed(document.pk)
    waits = []
    now = timezone.now()
    with mock.patch.object(EmailMessage, "send", side_effect=smtplib.SMTPServerDisconnected()):
        for _ in range(DELIVERY_RETRIES.max_retries):
            outcome = deliver(document.pk, now=now)
            assert outcome.failed == 1
            if outcome.retry_in_s is not None:
                waits.append(outcome.retry_in_s)
                now += timedelta(seconds=outcome.retry_in_s)
    assert waits == [30, 60, 120, 240, 480, 900, 900]
    email = OutboxMessage.objects.get(document=document, channel=OutboxMessage.Channel.EMAIL)
    assert (email.state, email.attempts) == (OutboxMessage.State.FAILED, 8)
    event = Event.objects.get(document=document, kind="delivery_failed")
    assert event.detail == {
        "channel": "email",
        "outbox": email.pk,
        "error": "SMTPServerDisconnected",
    }
    document.refresh_from_db()
    assert document.state == DocumentState.PUBLISHED
    assert not delivery_owed(document.pk)
    assert deliver(document.pk, now=now + timedelta(days=1)) == delivery.Delivery()


def test_every_wait_and_the_task_time_limit_stay_below_the_visibility_timeout(
    settings: Settings,
) -> None:
    """A retry waiting in the broker, plus the run that follows it, never outlives the broker's
    visibility timeout (which would hand the same retry to a second worker)."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert deliver_document.time_limit == DELIVERY_TIME_LIMIT_S
    assert deliver_document.soft_time_limit == DELIVERY_SOFT_TIME_LIMIT_S < DELIVERY_TIME_LIMIT_S
    countdowns = [DELIVERY_RETRIES.countdown(n) for n in range(DELIVERY_RETRIES.max_retries)]
    assert max(countdowns) <= 15 * 60
    for countdown in countdowns:
        assert countdown + DELIVERY_TIME_LIMIT_S < visibility
    assert LEASE_S < DELIVERY_TIME_LIMIT_S < visibility


def test_a_claim_is_exclusive_until_its_lease_lapses(
    make_published: MakeDocument,
) -> None:
    """The conditional UPDATE gives a row to one sender; another gets it only after the lease."""
    document = make_published()
    (row,) = OutboxMessage.objects.filter(document=document)
    now = timezone.now()
    first = outbox.claim(OutboxMessage, row.pk, now=now)
    assert first is not None
    assert outbox.claim(OutboxMessage, row.pk, now=now) is None
    assert outbox.claim(OutboxMessage, row.pk, now=now + timedelta(seconds=LEASE_S - 1)) is None
    second = outbox.claim(OutboxMessage, row.pk, now=now + timedelta(seconds=LEASE_S + 1))
    assert second is not None and second != first
    # the first sender's claim was taken over: it cannot mark the row any more
    assert not outbox.mark_sent(OutboxMessage, row.pk, first)
    assert outbox.mark_sent(OutboxMessage, row.pk, second)
    # sent rows stay sent
    assert outbox.claim(OutboxMessage, row.pk, now=now + timedelta(days=1)) is None


def test_a_lost_delivery_message_is_sent_again_after_the_grace_not_the_stage_limit(
    make_published: MakeDocument,
) -> None:
    """A published document whose delivery message was lost (its messages due, unclaimed)
    is put in line by the recovery once they are overdue by the grace, long before the
    stage's limit; one due only just now, or being sent, is left to its sender."""
    lost, fresh, sending = make_published(), make_published(), make_published()
    past = timezone.now() - timedelta(seconds=QUEUED_GRACE_S + 5)
    OutboxMessage.objects.filter(document__in=[lost, sending]).update(next_attempt_at=past)
    (row,) = OutboxMessage.objects.filter(document=sending)
    assert outbox.claim(OutboxMessage, row.pk) is not None
    assert fresh.pk not in overdue_deliveries(grace_s=QUEUED_GRACE_S)
    with mock.patch("publishing.tasks.deliver_document.delay") as deliver_task:
        assert recover_publishing() == {"PUBLISHED": 1}
    deliver_task.assert_called_once_with(lost.pk)


def test_a_second_delivery_during_a_send_sends_nothing(
    make_published: MakeDocument, mailoutbox: list[EmailMessage]
) -> None:
    """A delivery that starts while another is sending the same row finds it claimed."""
    document = make_published()
    inner: list[delivery.Delivery] = []
    real_send = EmailMessage.send

    def send_while_another_delivers(message: EmailMessage, fail_silently: bool = False) -> int:
        inner.append(deliver(document.pk))  # the recovery, a redelivered task …
        return real_send(message, fail_silently)

    with mock.patch.object(EmailMessage, "send", send_while_another_delivers):
        outer = deliver(document.pk)
    assert inner == [delivery.Delivery()]
    assert (outer.sent, outer.delivered) == (1, True)
    assert len(mailoutbox) == 1


def test_outbox_rows_are_one_per_recipient_and_addresses_stay_out_of_logs(
    make_published: MakeDocument, caplog: pytest.LogCaptureFixture
) -> None:
    """Publishing twice queues nothing new; logs name rows and documents, never addresses."""
    document = make_published(phone=PHONE)
    delivery.queue_messages(document)
    assert OutboxMessage.objects.filter(document=document).count() == 2
    caplog.set_level("DEBUG", logger="publishing")
    with mock.patch.object(
        EmailMessage,
        "send",
        side_effect=smtplib.SMTPRecipientsRefused(
            {"binh@example.vn": (550, b"no such user binh@example.vn")}
        ),
    ):
        deliver(document.pk)
    email = OutboxMessage.objects.get(document=document, channel=OutboxMessage.Channel.EMAIL)
    assert email.last_error == "SMTPRecipientsRefused 550"
    assert "outbox" in caplog.text
    for secret in ("binh", "example.vn", PHONE, "345678"):
        assert secret not in caplog.text
    assert masked("binh@example.vn") == "bi***@example.vn"
    assert masked(PHONE) == "091****678"


def test_a_result_above_the_size_limit_is_linked_not_attached(
    settings: Settings,
    signed_result: bytes,
    make_published: MakeDocument,
    mailoutbox: list[EmailMessage],
) -> None:
    """Above EMAIL_ATTACHMENT_MAX_BYTES the email points to the lookup page with the code."""
    settings.EMAIL_ATTACHMENT_MAX_BYTES = len(signed_result) - 1
    settings.PUBLIC_BASE_URL = "https://motcua.example.vn"
    document = make_published()
    deliver(document.pk)
    (message,) = mailoutbox
    assert message.attachments == []
    code = document.dossier.code
    assert f"https://motcua.example.vn/tra-cuu/?ma={code}" in str(message.body)
    assert "lớn hơn mức gửi kèm thư" in str(message.body)
