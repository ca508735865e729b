"""The hash chain of the audit trail: canonical entries, their links, and the first broken one."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "GENESIS",
    "Break",
    "Entry",
    "Head",
    "canonical",
    "facts",
    "link_hash",
    "verify_chain",
]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first entry: there is nothing before it."""


@dataclass(frozen=True)
class Entry:
    """One audit entry as the chain sees it: every stored fact, in the order of ``seq``."""

    seq: int
    """Position in the chain, from 1, without gaps."""
    at: dt.datetime
    """When it happened (aware; hashed in UTC)."""
    action: str
    """What was done (``viewed``, ``signed`` …)."""
    username: str = ""
    """Who did it, or tried to (the username typed at a failed sign-in)."""
    user_id: int | None = None
    """The account's id when there was one."""
    office_id: int | None = None
    """The office concerned, when there is one."""
    object_type: str = ""
    """The kind of thing acted on (``dossiers.document``)."""
    object_id: str = ""
    """Its id."""
    sha256: str = ""
    """The SHA-256 of the document's bytes concerned, when a document was."""
    client_address: str = ""
    """Where the request came from (blank for commands and background work)."""
    detail: Mapping[str, Any] = field(default_factory=dict)
    """Small JSON facts (never a secret, passphrase or ID number)."""
    prev_hash: str = GENESIS
    """The ``hash`` of the entry before."""
    hash: str = ""
    """SHA-256 of :func:`canonical` of this entry: the link the next entry holds."""


@dataclass(frozen=True)
class Head:
    """What the chain's head row says of its last entry (a truncated tail is then found)."""

    seq: int
    hash: str


Reason = Literal["edited", "gap", "link", "tail"]


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain."""

    seq: int
    """The entry at which the chain stops holding (for ``tail``, the last one left)."""
    at: dt.datetime | None
    """Its time, as stored (None when the chain is empty)."""
    reason: Reason
    """``edited``: its content no longer gives its hash; ``gap``: entries before it are
    missing or out of order; ``link``: it does not hold the hash of the entry before;
    ``tail``: entries after it are missing (the head row counts more)."""
    expected_seq: int
    """The ``seq`` the chain needed here."""


def _utc(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("audit times must be aware")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def facts(entry: Entry) -> dict[str, Any]:
    """The stored facts of ``entry`` as JSON values (time in UTC), its own hash left out."""
    return {
        "seq": entry.seq,
        "at": _utc(entry.at),
        "action": entry.action,
        "username": entry.username,
        "user_id": entry.user_id,
        "office_id": entry.office_id,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "sha256": entry.sha256,
        "client_address": entry.client_address,
        "detail": dict(entry.detail),
        "prev_hash": entry.prev_hash,
    }


def canonical(entry: Entry) -> bytes:
    """The bytes hashed for ``entry``: :func:`facts` as compact JSON with sorted keys."""
    return json.dumps(
        facts(entry), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode()


def link_hash(entry: Entry) -> str:
    """The hash ``entry`` must carry: SHA-256 of its canonical form (which holds ``prev_hash``)."""
    return hashlib.sha256(canonical(entry)).hexdigest()


def verify_chain(entries: Iterable[Entry], head: Head | None = None) -> tuple[Break | None, int]:
    """Walk ``entries`` in the order of ``seq``; return the first broken link and the count.

    Each entry must have the next ``seq`` (a deleted or moved entry leaves a gap), hold
    the hash of the entry before, and hash to its own ``hash`` (an edited one does not).
    With ``head``, the last entry must be the one the head row names (a deleted tail).
    """
    previous_hash = GENESIS
    expected = 1
    last: Entry | None = None
    count = 0
    for entry in entries:
        count += 1
        if entry.seq != expected:
            return Break(entry.seq, entry.at, "gap", expected), count
        if entry.prev_hash != previous_hash:
            return Break(entry.seq, entry.at, "link", expected), count
        if link_hash(entry) != entry.hash:
            return Break(entry.seq, entry.at, "edited", expected), count
        previous_hash = entry.hash
        expected += 1
        last = entry
    if head is not None and (head.seq, head.hash) != (
        (last.seq, last.hash) if last else (0, GENESIS)
    ):
        seq = last.seq if last else 0
        return Break(seq, last.at if last else None, "tail", seq + 1), count
    return None, count
