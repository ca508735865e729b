"""The apology letter's whole path: late → drafted → signed by the head → emailed → on lookup."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.test import Client
from pyhanko.sign.signers import SimpleSigner
from pypdf import PdfReader
from pytest_django import DjangoCaptureOnCommitCallbacks

from core.vntime import VN_TZ
from dossiers.models import Dossier, Event, Letter, LetterForm
from dossiers.services.deadlines import watch_deadlines
from dossiers.services.letters import edit_letter
from signing.errors import ApprovalError
from signing.services.letters import prepare_letter, sign_letter
from tests.conftest import DataDirs, MakeDossier

PHONE = "0912345678"


def vn(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=VN_TZ)


@pytest.mark.usefixtures("eager_celery")
def test_late_dossier_gets_a_signed_apology_on_email_and_lookup(
    data_dirs: DataDirs,
    make_dossier: MakeDossier,
    head: User,
    clerk: User,
    signing_key: SimpleSigner,
    mailoutbox: list[EmailMessage],
    client: Client,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    registered = make_dossier(received_at=vn(2026, 3, 2, 9), phone=PHONE)
    dossier = registered.dossier
    due = dossier.due_at  # 3 working days: Thursday 05/03 17:00
    # one working day before: flagged to the office, once
    soon = vn(2026, 3, 4, 9)
    assert watch_deadlines(soon).flagged == 1
    assert watch_deadlines(soon).flagged == 0
    assert Event.objects.filter(dossier=dossier, kind="due_soon").count() == 1

    late = due + timedelta(hours=16)
    assert watch_deadlines(late).apologies == 1
    assert watch_deadlines(late).apologies == 0  # idempotent
    letter = Letter.objects.get(dossier=dossier, form=LetterForm.APOLOGY)
    assert letter.state == Letter.State.DRAFT and letter.late_due_at == due
    assert dossier.code in letter.text

    edit_letter(letter, letter.text.replace("Lý do: ….", "Lý do: cần xác minh thêm."))
    with pytest.raises(ApprovalError):
        prepare_letter(letter, clerk)  # a clerk signs nothing
    prepare_letter(letter, head)
    with django_capture_on_commit_callbacks(execute=True):
        sign_letter(letter, head, signing_key)

    letter.refresh_from_db()
    assert letter.state == Letter.State.SENT
    assert letter.signed_by == "thutruong" and letter.new_due_at is not None
    dossier.refresh_from_db()
    assert dossier.due_at == letter.new_due_at > due
    kinds = set(Event.objects.filter(dossier=dossier).values_list("kind", flat=True))
    assert {
        "letter_drafted",
        "letter_approved",
        "letter_signed",
        "apology_issued",
        "due_moved",
        "letter_sent",
    } <= kinds

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["binh@example.vn"] and dossier.code in message.subject
    _name, data, kind = message.attachments[0]
    assert kind == "application/pdf" and data.startswith(b"%PDF")
    signed = PdfReader(io.BytesIO(data))
    assert signed.get_fields()  # the signature field
    assert "cần xác minh thêm" in " ".join(signed.pages[0].extract_text().split())
    assert list((data_dirs.outbox / "sms").iterdir())

    response = client.post("/tra-cuu/", {"code": dossier.code, "secret": registered.secret})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="letters"' in page and "Văn bản xin lỗi" in page
    assert "hẹn lại ngày trả kết quả" in page
    link = response.context["letters"][0][1]
    download = client.get(link)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == data  # type: ignore[attr-defined]
    assert client.get(link).status_code == 410  # single use

    # late again after the new appointment: another apology
    with mock.patch("django.utils.timezone.now", return_value=dossier.due_at + timedelta(days=1)):
        assert watch_deadlines().apologies == 1
    assert Letter.objects.filter(dossier=dossier, form=LetterForm.APOLOGY).count() == 2
    assert Dossier.objects.get(pk=dossier.pk).status == Dossier.Status.RECEIVED
