"""Tests of the task boundary: each disposition is acted on in one place, the same way."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import Retry

from core.errors import EXIT_CODES, PipelineError, RetryPolicy, exit_code
from dossiers.files import REASON_FILE
from dossiers.models import Document, DocumentState, Dossier, Event
from dossiers.services.boundary import act_on
from tests.conftest import DataDirs


class FakeTask:
    """Just what the boundary uses of a bound Celery task: its retry count and retry()."""

    def __init__(self, retries: int) -> None:
        self.request = SimpleNamespace(retries=retries)
        self.retried: list[dict[str, Any]] = []

    def retry(self, **kwargs: Any) -> Retry:
        self.retried.append(kwargs)
        return Retry("again", when=kwargs["countdown"])


def digitizing(dossier: Dossier, data_dirs: DataDirs) -> Document:
    source = data_dirs.intake / f"0123456789ab-{dossier.code}"
    source.mkdir(parents=True)
    (source / "trang-1.png").write_bytes(b"scan")
    return Document.objects.create(
        dossier=dossier,
        state=DocumentState.DIGITIZING,
        source_dir=str(source),
        source_sha256="0" * 64,
    )


def test_a_retry_error_is_retried_with_a_growing_delay(
    data_dirs: DataDirs, dossier: Dossier
) -> None:
    """A transient error runs the task again later, waiting longer each time; nothing fails."""
    document = digitizing(dossier, data_dirs)
    error = PipelineError("Ổ đĩa đầy; sẽ thử lại", disposition="retry")
    delays = []
    for retries in range(3):
        task = FakeTask(retries)
        with pytest.raises(Retry):
            act_on(error, document_id=document.pk, stage="ocr", task=task)  # type: ignore[arg-type]
        delays.append(task.retried[0]["countdown"])
        assert task.retried[0]["exc"] is error
    assert delays == [10.0, 20.0, 40.0]
    document.refresh_from_db()
    assert document.state == DocumentState.DIGITIZING


def test_spent_retries_fail_the_document_for_the_administrator(
    data_dirs: DataDirs, dossier: Dossier
) -> None:
    """With the retries spent, the document fails and the reason sends the clerk to the admin."""
    document = digitizing(dossier, data_dirs)
    error = PipelineError("Ổ đĩa đầy; sẽ thử lại", disposition="retry")
    task = FakeTask(RetryPolicy().max_retries)
    act_on(error, document_id=document.pk, stage="ocr", task=task)  # type: ignore[arg-type]
    assert task.retried == []
    document.refresh_from_db()
    assert document.state == DocumentState.FAILED
    reason = (Path(document.source_dir).parent / REASON_FILE).read_text(encoding="utf-8")
    assert "báo quản trị viên" in reason
    assert Event.objects.get(document=document, kind="failed").detail == {
        "stage": "ocr",
        "disposition": "retry",
    }


def test_a_quarantined_input_goes_back_to_the_clerk(data_dirs: DataDirs, dossier: Dossier) -> None:
    """Bad input fails at once, without a retry, with the clerk's rescan advice kept beside it."""
    document = digitizing(dossier, data_dirs)
    task = FakeTask(0)
    error = PipelineError("Trang 1 quá mờ; đề nghị quét lại", disposition="quarantine")
    act_on(error, document_id=document.pk, stage="quality", task=task)  # type: ignore[arg-type]
    assert task.retried == []
    document.refresh_from_db()
    assert document.state == DocumentState.FAILED
    assert document.reason == "Trang 1 quá mờ; đề nghị quét lại"
    kept = Path(document.source_dir)
    assert kept.is_relative_to(data_dirs.failed)
    assert (kept / "trang-1.png").read_bytes() == b"scan"
    reason = (kept.parent / REASON_FILE).read_text(encoding="utf-8")
    assert "quét lại nếu cần" in reason
    assert "quản trị viên" not in reason


def test_a_fail_error_is_not_retried_even_with_retries_left(
    data_dirs: DataDirs, dossier: Dossier
) -> None:
    """An error a person must fix fails the document at once, for the administrator."""
    document = digitizing(dossier, data_dirs)
    task = FakeTask(0)
    error = PipelineError("Không chạy được Tesseract", disposition="fail")
    act_on(error, document_id=document.pk, stage="ocr", task=task)  # type: ignore[arg-type]
    assert task.retried == []
    document.refresh_from_db()
    assert document.state == DocumentState.FAILED
    reason = (Path(document.source_dir).parent / REASON_FILE).read_text(encoding="utf-8")
    assert "báo quản trị viên" in reason


def test_the_command_line_maps_each_disposition_to_its_exit_code() -> None:
    """Bad input exits 2, a person's problem 3, a passing one 75 (try again later)."""
    codes = {d: exit_code(PipelineError("x", disposition=d)) for d in EXIT_CODES}
    assert codes == {"quarantine": 2, "fail": 3, "retry": 75}
