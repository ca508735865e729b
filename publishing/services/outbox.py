"""One message owed to a citizen, one row: claimed under a lease, sent, its outcome recorded.

Results (``OutboxMessage``) and letters (``LetterMessage``) are sent the same way: a row
is claimed by a conditional UPDATE (pending, due, and unclaimed or its claim lapsed),
the claim renewed while the send runs, and the row marked SENT only once the server
accepted the message; a failed try waits as ``DELIVERY_RETRIES`` says, the last one
leaves it FAILED for a person. A sender killed after the server accepted but before
the mark leaves the row claimed; once the claim lapses it is sent again with the same
key (Message-ID, SMS key), so a receiving side that dedupes sees it once.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from core.errors import PipelineError, RetryPolicy
from publishing.models import Message

__all__ = [
    "DELIVERY_RETRIES",
    "LEASE_S",
    "RECOVERY_BATCH",
    "claim",
    "mark_sent",
    "overdue",
    "reason",
    "send_row",
]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)

DELIVERY_RETRIES = RetryPolicy(max_retries=8, first_delay_s=30.0, max_delay_s=900.0)
"""Tries of one message: 30 s, 1, 2, 4, 8 minutes, then every 15 minutes; after 8 tries it
is FAILED for a person (the admin's "send again"). The longest wait stays well below the
broker's visibility timeout (an hour), so a waiting retry is never delivered twice."""

LEASE_S = 120.0
"""How long a claim holds a row; renewed every third of it while a send runs long, so it
lapses only when its worker is gone."""

RECOVERY_BATCH = 500
"""The most owners (documents, letters) of one kind a recovery run puts back in line; the
next run takes the rest."""


def overdue(
    model: type[Message],
    owner: str,
    *,
    grace_s: float,
    owners: Q,
    now: datetime | None = None,
    limit: int = RECOVERY_BATCH,
) -> list[int]:
    """Ids of the owners (``owner`` names the rows' foreign key: ``"document"``,
    ``"letter"``) matching ``owners`` with a message pending, due ``grace_s`` ago or more,
    and held by no live sender: their delivery message was lost (a broker restart, a
    worker killed before it sent the next task), so the recovery sends it again. A
    delivery that is only slow has claimed its rows. At most ``limit``, lowest first; the
    rows' ``(state, next_attempt_at)`` index finds them."""
    now = now or timezone.now()
    column = f"{owner}_id"
    rows = model._default_manager.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        owners,
        state=Message.State.PENDING,
        next_attempt_at__lt=now - timedelta(seconds=grace_s),
    )
    return list(rows.values_list(column, flat=True).distinct().order_by(column)[:limit])


def claim(model: type[Message], row_id: int, *, now: datetime | None = None) -> str | None:
    """Take a pending row that is due, for ``LEASE_S``; the claim's token, or None when the
    row is sent, failed, not yet due, or held by another sender whose lease runs."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    taken = (
        model._default_manager.filter(
            pk=row_id, state=Message.State.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=LEASE_S), claimed_by=token)
    )
    return token if taken else None


@contextmanager
def _lease_kept(model: type[Message], row_id: int, token: str) -> Iterator[None]:
    """Renew the claim every third of ``LEASE_S`` for as long as the body runs."""
    done = threading.Event()

    def renew() -> None:
        try:
            while not done.wait(LEASE_S / 3):
                model._default_manager.filter(pk=row_id, claimed_by=token).update(
                    claimed_until=timezone.now() + timedelta(seconds=LEASE_S)
                )
        finally:
            connection.close()  # this thread's own connection

    renewer = threading.Thread(target=renew, name=f"lease-{row_id}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()


def mark_sent(model: type[Message], row_id: int, token: str) -> bool:
    """Record that the server accepted the message; False when the claim was lost."""
    return bool(
        model._default_manager.filter(pk=row_id, claimed_by=token).update(
            state=Message.State.SENT,
            attempts=F("attempts") + 1,
            sent_at=timezone.now(),
            last_error="",
            claimed_until=None,
            claimed_by="",
        )
    )


def reason(error: Exception) -> str:
    """What went wrong, without addresses or text: a kind and a code or status."""
    if isinstance(error, PipelineError) and error.detail:
        return f"{type(error).__name__}: {error.detail}"[:200]
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code = next((c for c, _ in error.recipients.values()), None)
    return f"{type(error).__name__} {code}" if isinstance(code, int) else type(error).__name__


def _mark_failed(row: Message, token: str, error: Exception, now: datetime) -> bool:
    """Record a failed try and when to try again; True when this was the last try."""
    attempts = row.attempts + 1
    last = DELIVERY_RETRIES.gives_up(attempts)
    type(row)._default_manager.filter(pk=row.pk, claimed_by=token).update(
        attempts=attempts,
        last_error=reason(error),
        next_attempt_at=now + timedelta(seconds=DELIVERY_RETRIES.countdown(attempts - 1)),
        state=Message.State.FAILED if last else Message.State.PENDING,
        claimed_until=None,
        claimed_by="",
    )
    return last


def send_row(
    model: type[M],
    row_id: int,
    send: Callable[[M], None],
    *,
    about: str,
    gave_up: Callable[[M, str], None],
    now: datetime | None = None,
) -> bool | None:
    """Claim, send and record one row: True sent, False failed, None not claimed.

    ``about`` names what the message is for in the log (never its address or text);
    ``gave_up`` runs after the last failed try, with the reason.
    """
    now = now or timezone.now()
    token = claim(model, row_id, now=now)
    if token is None:
        return None
    row = model._default_manager.get(pk=row_id)
    try:
        with _lease_kept(model, row_id, token):
            send(row)
    except Exception as error:
        last = _mark_failed(row, token, error, now)
        log.warning(
            "outbox %s (%s, %s): try %s failed: %s%s",
            row_id,
            about,
            row.channel,
            row.attempts + 1,
            reason(error),
            "; no more tries" if last else "",
        )
        if last:
            gave_up(row, reason(error))
        return False
    if not mark_sent(model, row_id, token):
        log.warning("outbox %s: sent, but its claim had lapsed and was taken over", row_id)
    else:
        log.info("outbox %s (%s, %s) sent", row_id, about, row.channel)
    return True
