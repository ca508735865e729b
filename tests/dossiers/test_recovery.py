"""Tests of each stage's scheduled recovery: stuck documents go back in line, fresh ones not."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from unittest import mock

from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from digitize.tasks import recover_digitizing
from dossiers.models import Document, DocumentState, Dossier
from publishing.tasks import recover_publishing
from tests.conftest import DataDirs

LIMITS = {"RECEIVED": 120.0, "DIGITIZING": 900.0, "SIGNED": 120.0, "PUBLISHED": 300.0}


def recover() -> dict[str, int]:
    """Run every stage's recovery once, as the scheduler does, and merge their counts."""
    return {**recover_digitizing(), **recover_publishing()}


def make(dossier: Dossier, state: DocumentState, *, age_s: float, pages: int = 0) -> int:
    document = Document.objects.create(
        dossier=dossier, state=state, source_dir="x", source_sha256="0" * 64, page_count=pages
    )
    Document.objects.filter(pk=document.pk).update(
        state_changed_at=timezone.now() - timedelta(seconds=age_s)
    )
    return document.pk


def test_stuck_documents_are_enqueued_again_and_fresh_ones_are_not(
    settings: Settings,
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Each working state past its limit gets its stage's task again; others are untouched."""
    settings.STAGE_LIMITS_S = LIMITS
    received_old = make(dossier, DocumentState.RECEIVED, age_s=121)
    make(dossier, DocumentState.RECEIVED, age_s=100)
    digitizing_unsplit = make(dossier, DocumentState.DIGITIZING, age_s=901)
    digitizing_split = make(dossier, DocumentState.DIGITIZING, age_s=901, pages=3)
    make(dossier, DocumentState.DIGITIZING, age_s=800, pages=3)
    signed_old = make(dossier, DocumentState.SIGNED, age_s=121)
    make(dossier, DocumentState.SIGNED, age_s=60)
    published_old = make(dossier, DocumentState.PUBLISHED, age_s=301)
    make(dossier, DocumentState.PUBLISHED, age_s=200)
    make(dossier, DocumentState.AWAITING_APPROVAL, age_s=86_400)
    make(dossier, DocumentState.FAILED, age_s=86_400)

    with (
        mock.patch("digitize.tasks.prepare_document.delay") as prepare,
        mock.patch("digitize.tasks.queue_pages") as dispatch,
        mock.patch("publishing.tasks.publish_document.delay") as publish,
        mock.patch("publishing.tasks.deliver_document.delay") as deliver,
        django_capture_on_commit_callbacks(execute=True),
    ):
        counts = recover()

    assert counts == {"RECEIVED": 1, "DIGITIZING": 2, "SIGNED": 1, "PUBLISHED": 1}
    assert sorted(c.args[0] for c in prepare.call_args_list) == sorted(
        [received_old, digitizing_unsplit]
    )
    dispatch.assert_called_once_with(digitizing_split)
    publish.assert_called_once_with(signed_old)
    deliver.assert_called_once_with(published_old)


def test_nothing_stuck_enqueues_nothing(
    settings: Settings, data_dirs: DataDirs, dossier: Dossier
) -> None:
    """With every document fresh, the recoveries report nothing and send nothing."""
    settings.STAGE_LIMITS_S = LIMITS
    make(dossier, DocumentState.RECEIVED, age_s=1)
    with mock.patch("digitize.tasks.prepare_document.delay") as prepare:
        assert recover() == {}
    prepare.assert_not_called()


def test_old_work_folders_of_finished_documents_are_removed(
    settings: Settings, data_dirs: DataDirs, dossier: Dossier
) -> None:
    """Work folders an hour quiet go once their document has left digitizing; others stay."""
    settings.STAGE_LIMITS_S = LIMITS
    finished = make(dossier, DocumentState.AWAITING_APPROVAL, age_s=0)
    active = make(dossier, DocumentState.DIGITIZING, age_s=0)
    hour_ago = time.time() - 3700
    folders = {}
    for name in (str(finished), str(active), "99999"):
        folder = data_dirs.work / name
        (folder / "pages").mkdir(parents=True)
        folders[name] = folder
    for name in (str(finished), str(active)):
        os.utime(folders[name], (hour_ago, hour_ago))

    recover()

    assert not folders[str(finished)].exists()
    assert folders[str(active)].exists(), "a document still digitizing keeps its pages"
    assert folders["99999"].exists(), "a folder just written may belong to a new document"
