"""The hash chain: an entry edited, deleted or moved in the database is found, and named."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection

from audit.chain import GENESIS, Entry, Head, link_hash, verify_chain
from audit.models import Action, AuditEntry, AuditHead
from audit.services.record import HIDDEN, clean_detail, record
from audit.services.trail import break_message, verify_trail

T0 = dt.datetime(2026, 11, 22, 7, 5, 3, 120000, tzinfo=dt.UTC)


def _chain(count: int) -> list[Entry]:
    entries: list[Entry] = []
    previous = GENESIS
    for seq in range(1, count + 1):
        draft = Entry(
            seq=seq,
            at=T0 + dt.timedelta(minutes=seq),
            action="viewed",
            username="vanthu",
            sha256="ab" * 32,
            detail={"batch": seq, "ghi_chú": "Giấy khai sinh"},
            prev_hash=previous,
        )
        entry = Entry(**{**draft.__dict__, "hash": link_hash(draft)})
        entries.append(entry)
        previous = entry.hash
    return entries


def _sql(statement: str, *params: str | int) -> None:
    """Change the table behind the application's back, as someone with database access could."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture()
def five(db: None) -> list[AuditEntry]:
    """Five recorded entries."""
    return [
        record(Action.VIEWED, username=f"nguoi-{n}", sha256=f"{n:064x}", detail={"n": n})
        for n in range(1, 6)
    ]


def test_a_pure_chain_holds_and_its_hash_covers_time_in_utc() -> None:
    """An untouched chain verifies; the same moment in another zone hashes the same."""
    entries = _chain(4)
    assert verify_chain(entries, Head(4, entries[-1].hash)) == (None, 4)
    vn = dt.timezone(dt.timedelta(hours=7))
    moved = Entry(**{**entries[0].__dict__, "at": entries[0].at.astimezone(vn)})
    assert link_hash(moved) == entries[0].hash
    later = Entry(**{**entries[0].__dict__, "at": entries[0].at + dt.timedelta(microseconds=1)})
    assert link_hash(later) != entries[0].hash


def test_a_pure_chain_names_the_first_broken_link() -> None:
    """Edited content, a missing entry and a forged link are told apart, the first one named."""
    entries = _chain(5)
    edited = [*entries]
    edited[2] = Entry(**{**entries[2].__dict__, "username": "ke-khac"})
    broken, _ = verify_chain(edited)
    assert broken is not None and (broken.seq, broken.reason) == (3, "edited")

    broken, _ = verify_chain([entries[0], entries[2], entries[3]])
    assert broken is not None and (broken.seq, broken.reason, broken.expected_seq) == (3, "gap", 2)

    rehashed = Entry(**{**edited[2].__dict__, "hash": link_hash(edited[2])})
    broken, _ = verify_chain([*entries[:2], rehashed, *entries[3:]])
    assert broken is not None and (broken.seq, broken.reason) == (4, "link")

    broken, _ = verify_chain(entries[:3], Head(5, entries[-1].hash))
    assert broken is not None and (broken.seq, broken.reason, broken.expected_seq) == (3, "tail", 4)


def test_recorded_entries_form_one_chain_with_the_head(five: list[AuditEntry]) -> None:
    """Each entry holds the hash of the one before, and the head names the last."""
    assert [e.seq for e in five] == [1, 2, 3, 4, 5]
    assert five[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(five))
    head = AuditHead.objects.get()
    assert (head.seq, head.hash) == (5, five[-1].hash)
    verdict = verify_trail()
    assert verdict.broken is None and verdict.count == 5


def test_an_entry_edited_with_sql_is_found(five: list[AuditEntry]) -> None:
    """A raw UPDATE of one entry's username breaks the chain at that entry, named with its time."""
    _sql("UPDATE audit_auditentry SET username = %s WHERE seq = %s", "ke-gian", 3)
    verdict = verify_trail()
    assert verdict.broken is not None
    assert (verdict.broken.seq, verdict.broken.reason) == (3, "edited")
    message = break_message(verdict.broken)
    assert "mục #3" in message and "bị sửa" in message
    assert five[2].at.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%H:%M:%S") in message


def test_an_edited_document_hash_is_found(five: list[AuditEntry]) -> None:
    """Swapping the document SHA-256 recorded in an entry (to cover a changed file) is found."""
    _sql("UPDATE audit_auditentry SET sha256 = %s WHERE seq = %s", "f" * 64, 2)
    verdict = verify_trail()
    assert verdict.broken is not None and verdict.broken.seq == 2


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(five: list[AuditEntry]) -> None:
    """Recomputing the edited entry's own hash is not enough: the next entry no longer links."""
    entry = AuditEntry.objects.get(seq=2)
    entry.username = "ke-gian"
    forged = link_hash(entry.as_link())
    _sql("UPDATE audit_auditentry SET username = %s, hash = %s WHERE seq = 2", "ke-gian", forged)
    verdict = verify_trail()
    assert verdict.broken is not None
    assert (verdict.broken.seq, verdict.broken.reason) == (3, "link")


def test_a_deleted_entry_is_found(five: list[AuditEntry]) -> None:
    """Deleting an entry leaves a gap, named at the entry after it."""
    _sql("DELETE FROM audit_auditentry WHERE seq = 3")
    verdict = verify_trail()
    assert verdict.broken is not None
    assert (verdict.broken.seq, verdict.broken.reason, verdict.broken.expected_seq) == (4, "gap", 3)
    assert "thiếu mục #3" in break_message(verdict.broken)


def test_a_deleted_tail_is_found(five: list[AuditEntry]) -> None:
    """Deleting the last entries is found against the head row."""
    _sql("DELETE FROM audit_auditentry WHERE seq >= 4")
    verdict = verify_trail()
    assert verdict.broken is not None
    assert (verdict.broken.seq, verdict.broken.reason) == (3, "tail")
    assert "từ #4 đã bị xóa" in break_message(verdict.broken)


def test_reordered_entries_are_found(five: list[AuditEntry]) -> None:
    """Swapping two entries' places (their seq) breaks the chain at the first of them."""
    _sql("UPDATE audit_auditentry SET seq = 1000 WHERE seq = 2")
    _sql("UPDATE audit_auditentry SET seq = 2 WHERE seq = 3")
    _sql("UPDATE audit_auditentry SET seq = 3 WHERE seq = 1000")
    verdict = verify_trail()
    assert verdict.broken is not None
    assert (verdict.broken.seq, verdict.broken.reason) == (2, "link")


def test_appends_after_verification_go_on_from_the_head(five: list[AuditEntry]) -> None:
    """A new entry links to the last one, and the chain still holds."""
    sixth = record(Action.EXPORTED, username="quantri")
    assert (sixth.seq, sixth.prev_hash) == (6, five[-1].hash)
    assert verify_trail().broken is None


def test_no_secret_passphrase_or_id_number_enters_the_detail() -> None:
    """Values under keys naming a secret are hidden; floats become text; strings are capped."""
    cleaned = clean_detail(
        {
            "passphrase": "mat-khau-ky",
            "pin": "123456",
            "so_cccd": "001099012345",
            "nested": {"lookup_secret": "abc", "ok": 1.5},
            "long": "x" * 1000,
            "fields": ["Tên"],
        }
    )
    assert cleaned["passphrase"] == cleaned["pin"] == cleaned["so_cccd"] == HIDDEN
    assert cleaned["nested"] == {"lookup_secret": HIDDEN, "ok": "1.5"}
    assert len(cleaned["long"]) == 200
    assert cleaned["fields"] == ["Tên"]
