"""Tests of publishing a signed result and delivering it by email and SMS through the outbox."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path
from unittest import mock

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from pytest_django import DjangoCaptureOnCommitCallbacks

from dossiers.files import store_bytes
from dossiers.models import Document, DocumentState, Dossier, Event
from dossiers.services.registry import Registered
from dossiers.services.workflow import transition
from publishing.models import OutboxMessage
from publishing.tasks import deliver_document, delivery_owed, publish_document
from tests.conftest import DataDirs, MakeDossier

PHONE = "0912345678"


def signed_document(dossier: Dossier, signed_result: bytes, data_dirs: DataDirs) -> Document:
    path, digest = store_bytes(signed_result, data_dirs.store)
    return Document.objects.create(
        dossier=dossier,
        state=DocumentState.SIGNED,
        source_dir="",
        source_sha256="0" * 64,
        signed_path=str(path),
        signed_sha256=digest,
    )


def sms_files(data_dirs: DataDirs) -> list[Path]:
    folder = data_dirs.outbox / "sms"
    return sorted(folder.iterdir()) if folder.exists() else []


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
    document = signed_document(dossier, signed_result, data_dirs)
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
    assert "trước hạn" in str(message.body)
    assert message.attachments == [
        (f"ket-qua-{dossier.code}.pdf", signed_result, "application/pdf")
    ]
    whole = message.message().as_string()
    assert registered.secret not in whole and dossier.secret_hash not in whole

    (sms,) = sms_files(data_dirs)
    payload = json.loads(sms.read_text(encoding="utf-8"))
    assert payload["to"] == PHONE
    assert dossier.code in payload["text"]
    assert registered.secret not in payload["text"]
    assert not sms.name.startswith(".")

    sent = OutboxMessage.objects.filter(document=document)
    assert {(m.channel, m.state, m.attempts) for m in sent} == {
        (OutboxMessage.Channel.EMAIL, OutboxMessage.State.SENT, 1),
        (OutboxMessage.Channel.SMS, OutboxMessage.State.SENT, 1),
    }

    # A redelivered publish message for a delivered document sends nothing more.
    publish_document(document.pk)
    deliver_document(document.pk)
    assert len(mailoutbox) == 1 and len(sms_files(data_dirs)) == 1


@pytest.mark.usefixtures("eager_celery")
def test_no_phone_means_no_sms_and_no_contact_means_no_message(
    data_dirs: DataDirs,
    make_dossier: MakeDossier,
    signed_result: bytes,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Only the channels the citizen gave are used; without any the result is still delivered."""
    email_only = signed_document(make_dossier().dossier, signed_result, data_dirs)
    silent = signed_document(make_dossier(email="").dossier, signed_result, data_dirs)
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
    data_dirs: DataDirs,
    make_dossier: MakeDossier,
    signed_result: bytes,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A mail server error leaves the email pending for a retry; what was sent is not sent again."""
    document = signed_document(make_dossier(phone=PHONE).dossier, signed_result, data_dirs)
    with django_capture_on_commit_callbacks(execute=False):
        publish_document(document.pk)
    with (
        mock.patch.object(EmailMessage, "send", side_effect=smtplib.SMTPException("down")),
        mock.patch.object(deliver_document, "retry", side_effect=RuntimeError("retry")) as retry,
        pytest.raises(RuntimeError, match="retry"),
    ):
        deliver_document(document.pk)
    retry.assert_called_once()
    email = OutboxMessage.objects.get(document=document, channel=OutboxMessage.Channel.EMAIL)
    assert (email.state, email.attempts, email.last_error) == (
        OutboxMessage.State.PENDING,
        1,
        "SMTPException",
    )
    document.refresh_from_db()
    assert document.state == DocumentState.PUBLISHED
    assert len(sms_files(data_dirs)) == 1

    deliver_document(document.pk)

    assert len(mail.outbox) == 1
    assert len(sms_files(data_dirs)) == 1
    email.refresh_from_db()
    assert (email.state, email.attempts) == (OutboxMessage.State.SENT, 2)
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


def test_delivery_that_runs_out_of_retries_is_marked_failed_and_left_alone(
    data_dirs: DataDirs,
    make_dossier: MakeDossier,
    signed_result: bytes,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """After the last retry the email is marked failed with an event, and nobody retries it."""
    document = signed_document(make_dossier().dossier, signed_result, data_dirs)
    with django_capture_on_commit_callbacks(execute=False):
        publish_document(document.pk)
    assert delivery_owed(document.pk)
    with mock.patch.object(EmailMessage, "send", side_effect=smtplib.SMTPException("down")):
        deliver_document.apply(args=(document.pk,), retries=deliver_document.max_retries)
    email = OutboxMessage.objects.get(document=document, channel=OutboxMessage.Channel.EMAIL)
    assert email.state == OutboxMessage.State.FAILED
    assert Event.objects.filter(document=document, kind="delivery_failed").exists()
    document.refresh_from_db()
    assert document.state == DocumentState.PUBLISHED
    assert not delivery_owed(document.pk)
