"""A signed letter whose delivery message was lost is delivered by the recovery, once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pyhanko.sign.signers import SimpleSigner
from pytest_django import DjangoCaptureOnCommitCallbacks

from dossiers.files import store_bytes
from dossiers.models import Letter, LetterForm
from dossiers.services.leases import QUEUED_GRACE_S
from dossiers.services.letters import draft_letter, mark_signed
from publishing.models import LetterMessage, OutboxMessage
from publishing.services import letter_delivery, outbox
from publishing.services.letter_delivery import letters_owed, queue_letter_messages
from publishing.sms import FileSmsBackend
from publishing.tasks import deliver_letter, recover_publishing
from signing.services.letters import prepare_letter, sign_letter
from tests.conftest import DataDirs, MakeDossier

PHONE = "0912345678"
LONG_AGO = timedelta(seconds=QUEUED_GRACE_S + 60)

MakeLetter = Callable[..., Letter]
"""Makes a SIGNED letter (form 02) of a new dossier, signed ``age`` ago; keywords go to
``make_dossier`` (email, phone)."""


@pytest.fixture()
def sms_sent() -> Iterator[mock.MagicMock]:
    """Every SMS handed to the gateway, tries under the same key included (the file
    gateway's folder keeps one file per key, so it cannot count them)."""
    with mock.patch.object(
        FileSmsBackend, "send", autospec=True, side_effect=FileSmsBackend.send
    ) as send:
        yield send


@pytest.fixture()
def make_letter(data_dirs: DataDirs, make_dossier: MakeDossier, signed_result: bytes) -> MakeLetter:
    """Letters SIGNED as ``dossiers.services.letters.mark_signed`` leaves them, delivery
    not started (its message lost)."""

    def make(*, age: timedelta = LONG_AGO, **dossier: str) -> Letter:
        letter = draft_letter(
            make_dossier(**dossier).dossier, LetterForm.SUPPLEMENT, reason="Thiếu bản sao"
        )
        Letter.objects.filter(pk=letter.pk).update(state=Letter.State.APPROVED)
        path, digest = store_bytes(signed_result, data_dirs.store)
        assert mark_signed(letter, path, digest, actor="thutruong")
        Letter.objects.filter(pk=letter.pk).update(signed_at=timezone.now() - age)
        letter.refresh_from_db()
        return letter

    return make


def messages(letter: Letter) -> QuerySet[LetterMessage]:
    """The letter's outbox rows."""
    return LetterMessage.objects.filter(letter=letter)


def explained(sql: str) -> str:
    """SQLite's plan of ``sql`` (as captured, its parameters quoted in), one step a line."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.usefixtures("eager_celery")
def test_a_signed_letter_whose_delivery_message_was_lost_is_delivered_once(
    make_dossier: MakeDossier,
    head: User,
    signing_key: SimpleSigner,
    mailoutbox: list[EmailMessage],
    sms_sent: mock.MagicMock,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The head signs; the deliver_letter message is lost after the commit. Within the grace
    the recovery waits; past it, two recovery runs and the original message arriving late
    all deliver the letter, and the citizen gets one email and one SMS."""
    dossier = make_dossier(phone=PHONE).dossier
    letter = draft_letter(dossier, LetterForm.SUPPLEMENT, reason="Thiếu bản sao giấy khai sinh")
    prepare_letter(letter, head)
    with (
        mock.patch("signing.services.letters.enqueue") as lost,
        django_capture_on_commit_callbacks(execute=True),
    ):
        sign_letter(letter, head, signing_key)
    lost.assert_called_once_with("publishing.tasks.deliver_letter", letter.pk)
    letter.refresh_from_db()
    assert letter.state == Letter.State.SIGNED and not messages(letter).exists()

    assert recover_publishing() == {}  # only just signed: its message may still come

    Letter.objects.filter(pk=letter.pk).update(signed_at=timezone.now() - LONG_AGO)
    with mock.patch("publishing.tasks.deliver_letter.delay") as again:
        assert recover_publishing() == {"LETTERS": 1}
        assert recover_publishing() == {"LETTERS": 1}  # the scheduler runs before a worker
    assert [c.args for c in again.call_args_list] == [(letter.pk,), (letter.pk,)]
    assert not mailoutbox

    for _ in again.call_args_list:
        deliver_letter.delay(letter.pk)  # the recovery's two copies
    deliver_letter.delay(letter.pk)  # and the original, late
    letter.refresh_from_db()
    assert letter.state == Letter.State.SENT
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["binh@example.vn"]
    assert mailoutbox[0].attachments[0][2] == "application/pdf"
    assert sms_sent.call_count == 1 and sms_sent.call_args.args[1] == PHONE
    assert {(m.channel, m.state, m.attempts) for m in messages(letter)} == {
        (OutboxMessage.Channel.EMAIL, OutboxMessage.State.SENT, 1),
        (OutboxMessage.Channel.SMS, OutboxMessage.State.SENT, 1),
    }
    assert recover_publishing() == {}


@pytest.mark.usefixtures("eager_celery")
def test_a_letter_being_sent_under_a_live_lease_is_not_sent_twice(
    make_letter: MakeLetter, mailoutbox: list[EmailMessage]
) -> None:
    """While a sender holds the letter's message, the recovery and a second delivery find
    nothing to do, however overdue the message was when the sender took it."""
    letter = make_letter()
    queue_letter_messages(letter)
    messages(letter).update(next_attempt_at=timezone.now() - LONG_AGO)
    assert letters_owed(grace_s=QUEUED_GRACE_S) == [letter.pk]
    during: list[object] = []
    real_send = EmailMessage.send

    def send_while_recovering(message: EmailMessage, fail_silently: bool = False) -> int:
        during.append(recover_publishing())
        during.append(letter_delivery.deliver_letter(letter.pk))
        return real_send(message, fail_silently)

    with mock.patch.object(EmailMessage, "send", send_while_recovering):
        assert letter_delivery.deliver_letter(letter.pk) == (1, 0, True)
    assert during == [{}, (0, 0, False)]
    assert len(mailoutbox) == 1
    assert Letter.objects.get(pk=letter.pk).state == Letter.State.SENT


@pytest.mark.usefixtures("eager_celery")
def test_a_letter_whose_sender_died_is_sent_again_once_its_lease_lapses(
    make_letter: MakeLetter, mailoutbox: list[EmailMessage], sms_sent: mock.MagicMock
) -> None:
    """A worker killed mid-send leaves its message claimed: held while the lease runs, sent
    again by the recovery once it lapsed, with the same Message-ID."""
    letter = make_letter(phone=PHONE)
    queue_letter_messages(letter)
    taken = timezone.now() - LONG_AGO
    messages(letter).update(next_attempt_at=taken)
    for row in messages(letter):
        assert outbox.claim(LetterMessage, row.pk, now=timezone.now()) is not None
    assert recover_publishing() == {}  # its sender's lease runs

    messages(letter).update(claimed_until=timezone.now() - timedelta(seconds=1))  # it died
    assert recover_publishing() == {"LETTERS": 1}
    assert len(mailoutbox) == 1 and sms_sent.call_count == 1
    email = messages(letter).get(channel=OutboxMessage.Channel.EMAIL)
    assert mailoutbox[0].extra_headers["Message-ID"].startswith(f"<letter-{email.pk}-")
    assert Letter.objects.get(pk=letter.pk).state == Letter.State.SENT
    assert recover_publishing() == {}


@pytest.mark.usefixtures("eager_celery")
def test_a_letter_already_sent_is_left_alone(
    make_letter: MakeLetter, mailoutbox: list[EmailMessage]
) -> None:
    """A SENT letter is never put back in line, even with a stray pending message; nor is
    one sent to a citizen who gave no address."""
    sent = make_letter()
    assert letter_delivery.deliver_letter(sent.pk) == (1, 0, True)
    silent = make_letter(email="")
    assert letter_delivery.deliver_letter(silent.pk) == (0, 0, True)
    assert not messages(silent).exists()
    LetterMessage.objects.create(
        letter=sent,
        channel=OutboxMessage.Channel.SMS,
        recipient=PHONE,
        next_attempt_at=timezone.now() - LONG_AGO,
    )

    assert letters_owed(grace_s=QUEUED_GRACE_S) == []
    with mock.patch("publishing.tasks.deliver_letter.delay") as again:
        assert recover_publishing() == {}
    again.assert_not_called()
    assert len(mailoutbox) == 1


def test_waiting_and_failed_messages_are_left_to_their_retry_and_to_a_person(
    make_letter: MakeLetter,
) -> None:
    """A message waiting for its next try has a task coming back for it; one that failed
    for good waits for a person's "send again"; neither is owed. A letter whose messages
    are all sent but which is still SIGNED (its worker died before marking it) is."""
    waiting, failed, all_sent = make_letter(), make_letter(), make_letter()
    for letter in (waiting, failed, all_sent):
        queue_letter_messages(letter)
    messages(waiting).update(attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=1))
    messages(failed).update(attempts=8, state=OutboxMessage.State.FAILED)
    messages(all_sent).update(state=OutboxMessage.State.SENT, sent_at=timezone.now())

    assert letters_owed(grace_s=QUEUED_GRACE_S) == [all_sent.pk]
    deliver_letter(all_sent.pk)
    assert Letter.objects.get(pk=all_sent.pk).state == Letter.State.SENT
    assert letters_owed(grace_s=QUEUED_GRACE_S) == []


def test_the_recovery_reads_letters_through_indexes_and_in_bounded_batches(
    make_letter: MakeLetter,
) -> None:
    """Neither query walks the whole letters or messages table (a province signs thousands
    of letters a year); each run takes at most its batch of each kind."""
    idle = [make_letter() for _ in range(3)]
    late = [make_letter() for _ in range(3)]
    for letter in late:
        queue_letter_messages(letter)
        messages(letter).update(next_attempt_at=timezone.now() - LONG_AGO)
    assert letters_owed(grace_s=QUEUED_GRACE_S, limit=2) == sorted(
        letter.pk for letter in [*idle[:2], *late[:2]]
    )
    if connection.vendor != "sqlite":
        return  # PostgreSQL plans a few rows by a sequential scan; the indexes are the same
    with CaptureQueriesContext(connection) as queries:
        letters_owed(grace_s=QUEUED_GRACE_S)
    plans = "\n".join(explained(query["sql"]) for query in queries.captured_queries)
    assert "INDEX letter_state_signed_idx (state=? AND signed_at<?)" in plans
    assert "INDEX letter_message_due_idx (state=? AND next_attempt_at<?)" in plans
    assert not [line for line in plans.splitlines() if line.startswith("SCAN")], plans
