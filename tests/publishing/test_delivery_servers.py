"""Delivery against real servers on loopback: an SMTP server and an HTTP SMS gateway that are
down, slow or failing half the time, concurrent deliveries, and a worker killed mid-send."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django import Settings

from dossiers.models import Document, DocumentState
from publishing.models import OutboxMessage
from publishing.services import delivery, outbox
from publishing.services.delivery import DELIVERY_RETRIES, LEASE_S, deliver
from publishing.services.delivery_email import message_id, message_key
from publishing.services.publication import publish
from tests.publishing.conftest import MakeDocument
from tests.support.messaging import FakeGateway, FakeSmtp

TIMEOUT_S = 0.3
"""The clients' timeout in these tests; slow servers stall longer than this."""

CITIZENS = 3


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler records anything."""


@pytest.fixture()
def smtp(settings: Settings) -> Iterator[FakeSmtp]:
    server = FakeSmtp(slow_s=TIMEOUT_S * 3)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = TIMEOUT_S
    settings.DEFAULT_FROM_EMAIL = "Một cửa <motcua@xa-thu.gov.vn>"
    yield server
    server.stop()


@pytest.fixture()
def gateway(settings: Settings) -> Iterator[FakeGateway]:
    server = FakeGateway(slow_s=TIMEOUT_S * 2)
    settings.SMS_URL = server.url
    settings.SMS_TOKEN = "gateway-token"
    settings.SMS_TIMEOUT_S = TIMEOUT_S
    yield server
    server.stop()


def citizens_documents(make_published: MakeDocument, count: int = CITIZENS) -> list[Document]:
    return [
        make_published(email=f"congdan{i}@example.vn", phone=f"09{i:08d}") for i in range(count)
    ]


def assert_each_got_one_email_and_one_sms(
    documents: list[Document], smtp: FakeSmtp, gateway: FakeGateway
) -> None:
    rows = OutboxMessage.objects.filter(document__in=documents)
    assert {row.state for row in rows} == {OutboxMessage.State.SENT}
    emails = Counter(to for m in smtp.accepted for to in m.to)
    assert emails == Counter({d.dossier.email: 1 for d in documents})
    phones = Counter(r.phone for r in gateway.delivered.values())
    assert phones == Counter({d.dossier.phone: 1 for d in documents})
    for row in rows.select_related("document"):
        if row.channel == OutboxMessage.Channel.EMAIL:
            # every try of this email, accepted or not, carried the row's Message-ID
            tries = {m.message_id for m in smtp.seen if m.to == (row.recipient,)}
            assert tries == {message_id(row, row.document)}
            assert message_id(row, row.document).endswith("@xa-thu.gov.vn>")
        else:
            tries = {r.key for r in gateway.requests if r.phone == row.recipient}
            assert tries == {message_key(row, row.document)}
    assert {r.authorization for r in gateway.requests} == {"Bearer gateway-token"}
    for document in documents:
        document.refresh_from_db()
        assert document.state == DocumentState.DELIVERED


@pytest.mark.parametrize("mode", ["down", "slow", "flaky"])
def test_each_citizen_gets_exactly_one_email_and_one_sms(
    mode: str,
    smtp: FakeSmtp,
    gateway: FakeGateway,
    make_published: MakeDocument,
) -> None:
    """Servers refusing connections, stalling past the timeout or failing every other try:
    the retries reach every citizen once, each try with the same identity."""
    if mode in ("slow", "flaky"):
        smtp.mode = gateway.mode = mode  # type: ignore[assignment]
    if mode != "down":
        smtp.start()
        gateway.start()
    documents = citizens_documents(make_published)
    now = timezone.now()
    failures = 0
    for run in range(6):
        outcomes = [deliver(document.pk, now=now) for document in documents]
        failures += sum(o.failed for o in outcomes)
        if all(o.delivered for o in outcomes):
            break
        if mode == "down" and run == 0:
            assert smtp.seen == [] and gateway.requests == []
            smtp.start()
            gateway.start()
        now += timedelta(seconds=DELIVERY_RETRIES.max_delay_s)
    assert failures >= 2  # each server failed at least once
    assert_each_got_one_email_and_one_sms(documents, smtp, gateway)
    retried = OutboxMessage.objects.filter(document__in=documents, attempts__gt=1)
    assert {row.channel for row in retried} == {"email", "sms"}
    assert all("@" not in row.last_error for row in retried)


def test_a_gateway_that_accepts_but_answers_too_late_delivers_once_by_its_key(
    gateway: FakeGateway,
    make_published: MakeDocument,
) -> None:
    """The gateway took the message but the answer came after our timeout: the retry carries
    the same Idempotency-Key, so a gateway that honours it delivers one SMS."""
    gateway.mode = "slow_accept"
    gateway.start()
    (document,) = citizens_documents(make_published, count=1)
    OutboxMessage.objects.filter(channel=OutboxMessage.Channel.EMAIL).delete()
    first = deliver(document.pk)
    assert first.failed == 1 and first.retry_in_s is not None
    second = deliver(document.pk, now=timezone.now() + timedelta(seconds=first.retry_in_s))
    assert second.delivered
    keys = [r.key for r in gateway.requests if r.accepted]
    assert len(keys) == 2 and len(set(keys)) == 1
    assert len(gateway.delivered) == 1


def test_a_worker_killed_between_accept_and_mark_sends_at_most_one_duplicate(
    smtp: FakeSmtp,
    gateway: FakeGateway,
    make_published: MakeDocument,
) -> None:
    """The window that cannot be exactly once: the server accepted, the row is not yet SENT.
    The claim keeps everyone off the row while its lease runs; after it lapses the message
    goes once more, with the same Message-ID and Idempotency-Key."""
    smtp.start()
    gateway.start()
    (document,) = citizens_documents(make_published, count=1)
    now = timezone.now()
    for _ in OutboxMessage.Channel:  # each run is killed after its first send
        with (
            pytest.MonkeyPatch.context() as patch,
            pytest.raises(WorkerKilled),
        ):
            patch.setattr(outbox, "mark_sent", _killed)
            deliver(document.pk, now=now)
    assert len(smtp.accepted) == 1 and len(gateway.delivered) == 1
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"pending"}

    # the recovery comes back while the dead worker's leases still run: nothing is sent
    assert deliver(document.pk, now=now + timedelta(seconds=LEASE_S / 2)) == delivery.Delivery()
    assert len(smtp.seen) == 1 and len(gateway.requests) == 1

    # once they lapse, each message goes once more with the same identity
    outcome = deliver(document.pk, now=now + timedelta(seconds=LEASE_S + 1))
    assert (outcome.sent, outcome.delivered) == (2, True)
    assert len(smtp.accepted) == 2 and len({m.message_id for m in smtp.accepted}) == 1
    assert [r.accepted for r in gateway.requests] == [True, True]
    assert len({r.key for r in gateway.requests}) == 1 and len(gateway.delivered) == 1
    rows = OutboxMessage.objects.all()
    assert {(row.state, row.attempts) for row in rows} == {(OutboxMessage.State.SENT, 1)}


def _killed(model: object, message_id: int, token: str) -> bool:
    raise WorkerKilled


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_of_the_same_row_send_once(
    gateway: FakeGateway, make_signed: MakeDocument
) -> None:
    """A worker holds the SMS row inside a slow send; a second worker (a redelivered task, the
    scheduled recovery) running the same delivery at that moment sends nothing."""
    gateway.hold = threading.Event()
    gateway.start()
    document = make_signed(email="", phone="0912345678")
    assert publish(document.pk)
    outcomes: list[delivery.Delivery] = []

    def first_worker() -> None:
        try:
            outcomes.append(deliver(document.pk))
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    try:
        assert gateway.holding.wait(10)
        assert deliver(document.pk) == delivery.Delivery()  # the second worker
    finally:
        gateway.hold.set()
        worker.join(10)
    assert [(o.sent, o.delivered) for o in outcomes] == [(1, True)]
    assert len(gateway.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_a_long_send_renews_its_lease_and_a_short_one_does_not(
    monkeypatch: pytest.MonkeyPatch, make_signed: MakeDocument
) -> None:
    """While a send runs past a third of the lease, the lease is renewed, so nobody takes the
    row from a live sender; a quick send leaves the lease as it was."""
    monkeypatch.setattr(outbox, "LEASE_S", 0.3)
    document = make_signed()
    assert publish(document.pk)
    (row,) = OutboxMessage.objects.filter(document=document)

    def lease() -> object:
        return OutboxMessage.objects.values_list("claimed_until", flat=True).get(pk=row.pk)

    token = outbox.claim(OutboxMessage, row.pk)
    assert token is not None
    before = lease()
    with outbox._lease_kept(OutboxMessage, row.pk, token):
        time.sleep(0.02)
    assert lease() == before  # quick: not renewed

    with outbox._lease_kept(OutboxMessage, row.pk, token):
        time.sleep(0.5)  # past the first lease
    assert lease() != before
    assert outbox.claim(OutboxMessage, row.pk) is None  # still held
    assert outbox.mark_sent(OutboxMessage, row.pk, token)
