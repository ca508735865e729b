"""Digitize units sent with their intent stored first: a lost message is sent again, once."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from digitize.models import DocumentWork, Page
from digitize.services.dispatch import (
    queue_assembly,
    queue_pages,
    queue_preparation,
    sweep_lapsed,
)
from dossiers.models import Document, DocumentState, Dossier
from dossiers.services.leases import QUEUED, claim

pytestmark = pytest.mark.django_db


def _document(dossier: Dossier, state: DocumentState, *, pages: int = 0) -> Document:
    document = Document.objects.create(
        dossier=dossier, state=state, source_dir="x", source_sha256="0" * 64, page_count=pages
    )
    Page.objects.bulk_create(
        Page(
            document=document,
            index=i,
            image_path="/nonexistent.png",
            dpi=300,
            width=1,
            height=1,
            mode="L",
        )
        for i in range(pages)
    )
    return document


def _lapse_all() -> None:
    """Move every mark and claim into the past, as if the grace or the lease had passed."""
    past = timezone.now() - timedelta(seconds=1)
    Page.objects.exclude(lease_holder="").update(lease_until=past)
    DocumentWork.objects.exclude(lease_holder="").update(lease_until=past)


def _work(document: Document, stage: DocumentWork.Stage) -> DocumentWork:
    return DocumentWork.objects.get(document=document, stage=stage)


def test_a_stage_is_marked_before_its_message_and_sent_only_once_committed(
    dossier: Dossier, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    """The mark is written in the caller's transaction; the message waits for the commit."""
    document = _document(dossier, DocumentState.RECEIVED)
    with mock.patch("digitize.services.dispatch.enqueue") as enqueue:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            with transaction.atomic():
                queue_preparation(document.pk)
            assert _work(document, DocumentWork.Stage.PREPARE).lease_holder == QUEUED
        assert not enqueue.called
        for callback in callbacks:
            callback()
    enqueue.assert_called_once_with("digitize.tasks.prepare_document", document.pk)


@pytest.mark.parametrize(
    ("queue", "stage", "task"),
    [
        (queue_preparation, DocumentWork.Stage.PREPARE, "digitize.tasks.prepare_document"),
        (queue_assembly, DocumentWork.Stage.ASSEMBLE, "digitize.tasks.assemble_document"),
    ],
)
def test_a_lost_stage_message_is_sent_again_after_the_grace_and_only_then(
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    queue: object,
    stage: DocumentWork.Stage,
    task: str,
) -> None:
    """A splitting or assembly sent and never taken (its message lost with a broker restart,
    or reserved by a worker that was killed) is sent again by the sweep once its grace has
    passed; sent again, it is marked again, so the next sweep does not send a third copy."""
    document = _document(dossier, DocumentState.DIGITIZING)
    with (
        mock.patch("digitize.services.dispatch.enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        queue(document.pk)  # type: ignore[operator]
        assert sweep_lapsed() == {}  # within the grace: the message may only be slow
        _lapse_all()
        assert sweep_lapsed() == {stage.value: 1}
        assert sweep_lapsed() == {}
    assert [c.args for c in enqueue.call_args_list] == [(task, document.pk)] * 2
    assert claim(DocumentWork, _work(document, stage).pk).outcome == "taken"


def test_pages_are_queued_or_else_the_assembly(
    dossier: Dossier, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    """The undone pages of a split document are marked and sent; with none left, the assembly."""
    document = _document(dossier, DocumentState.DIGITIZING, pages=3)
    first = Page.objects.filter(document=document).order_by("index").first()
    assert first is not None
    Page.objects.filter(pk=first.pk).update(done=True)
    with (
        mock.patch("digitize.services.dispatch.enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert queue_pages(document.pk) == 2
        Page.objects.filter(document=document).update(done=True)
        assert queue_pages(document.pk) == 0
    sent = [c.args for c in enqueue.call_args_list]
    undone = list(Page.objects.filter(document=document, index__gt=0).values_list("pk", flat=True))
    assert sent == [("digitize.tasks.ocr_page", pk) for pk in undone] + [
        ("digitize.tasks.assemble_document", document.pk)
    ]
    assert set(
        Page.objects.filter(document=document, index__gt=0).values_list("lease_holder", flat=True)
    ) == {QUEUED}


def test_units_of_a_document_that_left_digitizing_are_freed_not_sent(
    dossier: Dossier, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    """A failed document's queued pages and a finished one's second assembly message are
    cleared by the sweep instead of being sent every grace for ever."""
    failed = _document(dossier, DocumentState.DIGITIZING, pages=2)
    finished = _document(dossier, DocumentState.DIGITIZING)
    with (
        mock.patch("digitize.services.dispatch.enqueue"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        queue_pages(failed.pk)
        queue_assembly(finished.pk)
    Document.objects.filter(pk=failed.pk).update(state=DocumentState.FAILED)
    Document.objects.filter(pk=finished.pk).update(state=DocumentState.AWAITING_APPROVAL)
    _lapse_all()
    with (
        mock.patch("digitize.services.dispatch.enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sweep_lapsed() == {}
    enqueue.assert_not_called()
    assert set(Page.objects.values_list("lease_holder", flat=True)) == {""}
    assert _work(finished, DocumentWork.Stage.ASSEMBLE).lease_holder == ""
