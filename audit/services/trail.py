"""Reading the trail back: verifying its chain, and entries for export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit.chain import Break, Head, facts, verify_chain
from audit.models import AuditEntry, AuditHead
from audit.services.record import HEAD_ID
from core.vntime import format_vn_datetime

__all__ = ["Verdict", "break_message", "entries_since", "verify_trail"]

CHUNK = 2000
"""Entries read from the database at a time."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify_trail`."""

    broken: Break | None
    """The first broken link, or None when the chain holds."""
    count: int
    """Entries read."""
    head: Head | None
    """What the head row said (None before the first entry)."""


def verify_trail() -> Verdict:
    """Verify the stored chain up to the entry the head row names (appends may go on)."""
    row = AuditHead.objects.filter(pk=HEAD_ID).first()
    head = Head(row.seq, row.hash) if row is not None else None
    entries = AuditEntry.objects.order_by("seq")
    if head is not None:
        entries = entries.filter(seq__lte=head.seq)
    links = (entry.as_link() for entry in entries.iterator(chunk_size=CHUNK))
    broken, count = verify_chain(links, head)
    return Verdict(broken, count, head)


def break_message(broken: Break) -> str:
    """The first broken link, in Vietnamese, naming the entry and its time."""
    when = f" ({format_vn_datetime(broken.at)})" if broken.at is not None else ""
    where = f"Chuỗi nhật ký kiểm toán bị phá vỡ tại mục #{broken.seq}{when}: "
    if broken.reason == "edited":
        return where + "nội dung mục đã bị sửa sau khi ghi (mã băm không khớp)."
    if broken.reason == "link":
        return where + (
            f"mục không nối với mục #{broken.seq - 1} trước nó; "
            "mục trước đã bị sửa, thay thế hoặc đổi thứ tự."
        )
    if broken.reason == "gap":
        return where + (f"thiếu mục #{broken.expected_seq} trước nó (đã bị xóa hoặc đổi thứ tự).")
    return where + (
        f"đây là mục cuối còn lại nhưng đầu chuỗi ghi nhiều hơn; "
        f"các mục từ #{broken.expected_seq} đã bị xóa."
    )


def entries_since(since: datetime | None, until: datetime | None) -> Iterator[dict[str, Any]]:
    """Entries in ``[since, until)`` by ``seq``, as JSON objects with their hashes.

    Each object without ``hash``, dumped as compact JSON with sorted keys, hashes to it
    (:func:`audit.chain.canonical`): anyone can check an export without motcua.
    """
    entries = AuditEntry.objects.order_by("seq")
    if since is not None:
        entries = entries.filter(at__gte=since)
    if until is not None:
        entries = entries.filter(at__lt=until)
    for entry in entries.iterator(chunk_size=CHUNK):
        yield {**facts(entry.as_link()), "hash": entry.hash}
