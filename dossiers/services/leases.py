"""Claiming a unit of work under a lease, renewing it while it runs, finding lapsed ones.

A unit is a row of a model with the ``Leased`` fields (a page under OCR, a document's
splitting or assembly). A worker claims it with a conditional UPDATE (free, lapsed, or
held by a process of this host that is gone), renews the claim by heartbeat while it
works and releases it when done, whatever the outcome. A claim that ends without a
release is a worker that died: after ``LeaseTerms.max_claims`` of those the unit is
reported ``poisoned`` so its stage fails it instead of killing worker after worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from core.lease import LEASE_TERMS, LeaseTerms, heartbeat, holder_gone, new_holder
from dossiers.models.leases import Leased

__all__ = [
    "QUEUED",
    "QUEUED_GRACE_S",
    "Claim",
    "claim",
    "lapsed",
    "mark_queued",
    "release",
    "renew",
    "working",
]

QUEUED = "queued"
"""Holder of a unit whose task was sent and not yet taken by a worker."""

QUEUED_GRACE_S = 90.0
"""How long a sent unit may wait for a worker before the sweep sends it again: a message
lost with a broker that restarted (its last second not yet on disk) is sent again, not
left to the stage's slow recovery. A second copy of a message that was only slow finds
the unit taken or done and does nothing."""

Outcome = Literal["taken", "held", "poisoned", "missing"]


@dataclass(frozen=True)
class Claim:
    """What a claim on a unit found."""

    outcome: Outcome
    """``taken`` (work on it), ``held`` (another live worker has it), ``poisoned`` (it
    killed its workers too often: fail it) or ``missing`` (no such row)."""

    holder: str = ""
    """This claim's holder, when taken or poisoned."""

    claims: int = 0
    """Claims of the unit since its last clean release, this one included."""


def claim(
    model: type[Leased], pk: int, *, terms: LeaseTerms = LEASE_TERMS, now: datetime | None = None
) -> Claim:
    """Take the unit ``pk`` of ``model`` for ``terms.lease_s`` if nobody live holds it."""
    now = now or timezone.now()
    rows = model._default_manager.filter(pk=pk)
    current = rows.values_list("lease_holder", flat=True).first()
    if current is None:
        return Claim("missing")
    free = (
        Q(lease_holder="")
        | Q(lease_holder=QUEUED)
        | Q(lease_until__isnull=True)
        | Q(lease_until__lt=now)
    )
    if current and holder_gone(current):
        free |= Q(lease_holder=current)
    holder = new_holder()
    taken = rows.filter(free).update(
        lease_holder=holder, lease_until=terms.until(now), lease_claims=F("lease_claims") + 1
    )
    if not taken:
        return Claim("held")
    claims = int(rows.values_list("lease_claims", flat=True).get())
    return Claim("poisoned" if terms.poisoned(claims) else "taken", holder, claims)


def renew(model: type[Leased], pk: int, holder: str, *, terms: LeaseTerms = LEASE_TERMS) -> bool:
    """Extend ``holder``'s claim (the heartbeat); False when it was taken over."""
    return bool(
        model._default_manager.filter(pk=pk, lease_holder=holder).update(
            lease_until=terms.until(timezone.now())
        )
    )


def release(model: type[Leased], pk: int, holder: str) -> bool:
    """Free the unit after a try that ended (done, failed or to be retried), if still ours."""
    return bool(
        model._default_manager.filter(pk=pk, lease_holder=holder).update(
            lease_holder="", lease_until=None, lease_claims=0
        )
    )


def mark_queued(model: type[Leased], pks: list[int], *, grace_s: float = QUEUED_GRACE_S) -> None:
    """Note that the units ``pks`` were just sent to the queue: unless a worker takes them
    within ``grace_s``, :func:`lapsed` returns them for sending again. Units held by a
    live worker are left alone."""
    now = timezone.now()
    free = Q(lease_holder="") | Q(lease_holder=QUEUED) | Q(lease_until__lt=now)
    model._default_manager.filter(free, pk__in=pks).update(
        lease_holder=QUEUED, lease_until=now + timedelta(seconds=grace_s)
    )


def lapsed(model: type[Leased], *, now: datetime | None = None) -> list[int]:
    """Ids of the units whose holder stopped renewing (their worker is gone), or that were
    sent and never taken within the grace (their message was lost)."""
    return list(
        model._default_manager.filter(lease_until__lt=now or timezone.now())
        .exclude(lease_holder="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _close_thread_connection() -> None:
    connection.close()


@contextmanager
def working(model: type[Leased], pk: int, *, terms: LeaseTerms = LEASE_TERMS) -> Iterator[Claim]:
    """Claim the unit for the body, renewed every ``terms.renew_every_s``, released after.

    Yields the claim; the body works only when its outcome is ``taken`` (a ``poisoned``
    unit is held while the body fails it, then released).
    """
    taken = claim(model, pk, terms=terms)
    if taken.outcome not in {"taken", "poisoned"}:
        yield taken
        return
    try:
        with heartbeat(
            lambda: renew(model, pk, taken.holder, terms=terms),
            every_s=terms.renew_every_s,
            finished=_close_thread_connection,
        ):
            yield taken
    finally:
        release(model, pk, taken.holder)
