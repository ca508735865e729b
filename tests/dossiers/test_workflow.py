"""Tests of document state transitions and of failing a document into failed/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dossiers.files import REASON_FILE
from dossiers.models import Document, DocumentState, Dossier, Event
from dossiers.services.workflow import fail_document, state_changed, transition
from tests.conftest import DataDirs


def make_document(dossier: Dossier, state: DocumentState, source_dir: Path | str = "") -> Document:
    return Document.objects.create(
        dossier=dossier, state=state, source_dir=str(source_dir), source_sha256="0" * 64
    )


@pytest.fixture()
def announcements() -> Iterator[list[dict[str, Any]]]:
    """Collect what state_changed announces while the test runs."""
    heard: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        heard.append(kwargs)

    state_changed.connect(receiver, dispatch_uid="test-announcements")
    try:
        yield heard
    finally:
        state_changed.disconnect(dispatch_uid="test-announcements")


def test_transition_from_an_unexpected_state_does_nothing(
    dossier: Dossier, announcements: list[dict[str, Any]]
) -> None:
    """A document not in the expected state is left alone: False, no event, no signal."""
    document = make_document(dossier, DocumentState.RECEIVED)
    events_before = Event.objects.count()
    moved = transition(
        document.pk, DocumentState.DIGITIZING, DocumentState.AWAITING_APPROVAL, kind="digitized"
    )
    assert moved is False
    document.refresh_from_db()
    assert document.state == DocumentState.RECEIVED
    assert Event.objects.count() == events_before
    assert announcements == []


def test_transition_moves_records_and_announces(
    dossier: Dossier, announcements: list[dict[str, Any]]
) -> None:
    """A transition updates state and fields, writes its event and sends state_changed."""
    document = make_document(dossier, DocumentState.RECEIVED)
    before = document.state_changed_at
    assert transition(
        document.pk,
        DocumentState.RECEIVED,
        DocumentState.DIGITIZING,
        kind="digitize_started",
        actor="may-xu-ly-1",
        detail={"pages": 2},
        page_count=2,
    )
    document.refresh_from_db()
    assert document.state == DocumentState.DIGITIZING
    assert document.page_count == 2
    assert document.state_changed_at > before
    event = Event.objects.get(document=document)
    assert (event.kind, event.from_state, event.to_state) == (
        "digitize_started",
        DocumentState.RECEIVED,
        DocumentState.DIGITIZING,
    )
    assert event.actor == "may-xu-ly-1"
    assert event.detail == {"pages": 2}
    assert len(announcements) == 1
    assert announcements[0]["document"].pk == document.pk
    assert announcements[0]["new"] == DocumentState.DIGITIZING
    assert tuple(announcements[0]["old"]) == (DocumentState.RECEIVED,)


def test_second_identical_transition_loses(dossier: Dossier) -> None:
    """Of two workers moving the same document from the same state, only one wins."""
    document = make_document(dossier, DocumentState.RECEIVED)
    args = (document.pk, DocumentState.RECEIVED, DocumentState.DIGITIZING)
    assert transition(*args, kind="digitize_started")
    assert not transition(*args, kind="digitize_started")
    assert Event.objects.filter(document=document).count() == 1


def test_transition_from_several_states_leaves_from_state_blank(dossier: Dossier) -> None:
    """With more than one expected state, the event does not guess which one it was."""
    document = make_document(dossier, DocumentState.DIGITIZING)
    assert transition(
        document.pk,
        (DocumentState.RECEIVED, DocumentState.DIGITIZING),
        DocumentState.FAILED,
        kind="failed",
    )
    event = Event.objects.get(document=document)
    assert event.from_state == "" and event.to_state == DocumentState.FAILED


def test_a_failing_receiver_rolls_the_transition_back(dossier: Dossier) -> None:
    """The signal is sent inside the transaction: if a receiver fails, nothing is kept."""
    document = make_document(dossier, DocumentState.RECEIVED)

    def broken(sender: object, **kwargs: Any) -> None:
        raise RuntimeError("receiver failed")

    state_changed.connect(broken, dispatch_uid="test-broken")
    try:
        with pytest.raises(RuntimeError):
            transition(
                document.pk, DocumentState.RECEIVED, DocumentState.DIGITIZING, kind="started"
            )
    finally:
        state_changed.disconnect(dispatch_uid="test-broken")
    document.refresh_from_db()
    assert document.state == DocumentState.RECEIVED
    assert not Event.objects.filter(document=document).exists()


def test_fail_document_keeps_the_files_in_failed_with_the_reason(
    data_dirs: DataDirs, dossier: Dossier
) -> None:
    """A failed document's scans move to failed/ under the dossier code, beside LY_DO.txt."""
    source = data_dirs.intake / "2026" / "03" / "09" / f"0123456789ab-{dossier.code}"
    source.mkdir(parents=True)
    (source / "trang-1.png").write_bytes(b"scan bytes")
    document = make_document(dossier, DocumentState.DIGITIZING, source)
    reason = "Tệp 'trang-1.png' không phải ảnh quét đọc được."

    assert fail_document(document.pk, reason, detail={"stage": "pages"})

    document.refresh_from_db()
    assert document.state == DocumentState.FAILED
    assert document.reason == reason
    kept = Path(document.source_dir)
    assert kept.is_relative_to(data_dirs.failed)
    assert kept.name == dossier.code
    assert (kept / "trang-1.png").read_bytes() == b"scan bytes"
    assert not source.exists()
    text = (kept.parent / REASON_FILE).read_text(encoding="utf-8")
    assert f"Lý do: {reason}" in text
    assert "Cách xử lý" in text
    twin = json.loads((kept.parent / "reason.json").read_text(encoding="utf-8"))
    assert twin == {"reason": reason, "document": str(document.pk)}
    event = Event.objects.get(document=document, kind="failed")
    assert event.detail == {"stage": "pages"}


def test_fail_document_leaves_a_finished_document_alone(
    data_dirs: DataDirs, dossier: Dossier
) -> None:
    """Only a document still being received or digitized can fail; others keep their files."""
    source = data_dirs.intake / "giu-nguyen"
    source.mkdir()
    (source / "a.png").write_bytes(b"a")
    document = make_document(dossier, DocumentState.AWAITING_APPROVAL, source)
    assert not fail_document(document.pk, "không áp dụng")
    document.refresh_from_db()
    assert document.state == DocumentState.AWAITING_APPROVAL
    assert (source / "a.png").exists()
    assert not any(data_dirs.failed.iterdir())


def test_fail_document_without_files_still_fails(data_dirs: DataDirs, dossier: Dossier) -> None:
    """A document whose source folder is already gone is marked failed all the same."""
    document = make_document(dossier, DocumentState.RECEIVED, data_dirs.intake / "khong-con")
    assert fail_document(document.pk, "Thư mục bản quét không còn.")
    document.refresh_from_db()
    assert document.state == DocumentState.FAILED
    assert document.source_dir == str(data_dirs.intake / "khong-con")
