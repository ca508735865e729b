"""Leases on units of work: claimed once, taken over when lapsed or their holder died,
renewed by heartbeat, and a unit that keeps killing its worker fails its document."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from unittest import mock

from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from core.lease import LEASE_TERMS, LeaseTerms, heartbeat, holder_gone, new_holder
from digitize.models import DocumentWork, Page
from digitize.tasks import ocr_page, recover_leases
from dossiers.models import Document, DocumentState, Dossier, Event
from dossiers.services.leases import claim, lapsed, mark_queued, release, renew, working
from tests.conftest import DataDirs


def _page(dossier: Dossier, *, state: DocumentState = DocumentState.DIGITIZING) -> Page:
    document = Document.objects.create(
        dossier=dossier, state=state, source_dir="x", source_sha256="0" * 64, page_count=1
    )
    return Page.objects.create(
        document=document,
        index=0,
        image_path="/nonexistent.png",
        dpi=300,
        width=1,
        height=1,
        mode="L",
    )


def test_holder_names_its_host_and_process() -> None:
    """A holder on this host whose process is gone is recognised; others never are."""
    mine = new_holder(host="h1", pid=4242)
    assert holder_gone(mine, host="h1", alive=lambda pid: False)
    assert not holder_gone(mine, host="h1", alive=lambda pid: True)
    assert not holder_gone(mine, host="h2", alive=lambda pid: False)
    assert not holder_gone("", host="h1", alive=lambda pid: False)
    assert not holder_gone(new_holder(), alive=lambda pid: True)
    assert LeaseTerms(max_claims=3).poisoned(4) and not LeaseTerms(max_claims=3).poisoned(3)


def test_heartbeat_renews_until_the_body_ends_and_reports_a_lost_claim() -> None:
    """The renewal runs on a thread while the body runs, and stops with it."""
    calls: list[float] = []

    def renew() -> bool:
        calls.append(time.monotonic())
        return True

    with heartbeat(renew, every_s=0.02) as lost:
        time.sleep(0.15)
    count = len(calls)
    assert count >= 3 and not lost.is_set()
    time.sleep(0.05)
    assert len(calls) == count
    with heartbeat(lambda: False, every_s=0.01) as lost:
        assert lost.wait(1)
    assert not [t for t in threading.enumerate() if t.name == "lease-heartbeat"]


def test_a_unit_is_claimed_once_then_taken_over_when_its_lease_lapses(dossier: Dossier) -> None:
    """A live claim keeps others out; a lapsed one or a dead holder's is taken at once."""
    page = _page(dossier)
    first = claim(Page, page.pk)
    assert first.outcome == "taken" and first.claims == 1
    assert claim(Page, page.pk).outcome == "held"
    assert renew(Page, page.pk, first.holder)
    assert lapsed(Page) == []
    later = timezone.now() + timedelta(seconds=LEASE_TERMS.lease_s + 1)
    assert lapsed(Page, now=later) == [page.pk]
    second = claim(Page, page.pk, now=later)
    assert second.outcome == "taken" and second.claims == 2
    assert not renew(Page, page.pk, first.holder)  # the first holder lost it
    # a holder of this host whose process is gone: taken over without waiting
    Page.objects.filter(pk=page.pk).update(lease_holder=new_holder(pid=2**22 + 7))
    third = claim(Page, page.pk)
    assert third.outcome == "taken" and third.claims == 3
    assert release(Page, page.pk, third.holder)
    assert Page.objects.values_list("lease_holder", "lease_claims").get(pk=page.pk) == ("", 0)
    assert claim(Page, 10**9).outcome == "missing"


def test_working_releases_whatever_the_body_does(dossier: Dossier) -> None:
    """The context releases after success and after an error; a held unit yields held."""
    page = _page(dossier)
    with working(Page, page.pk) as lease:
        assert lease.outcome == "taken"
        with working(Page, page.pk) as other:
            assert other.outcome == "held"
    try:
        with working(Page, page.pk):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert Page.objects.values_list("lease_holder", "lease_claims").get(pk=page.pk) == ("", 0)


def test_recover_leases_puts_back_what_a_dead_worker_held(
    dossier: Dossier, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    """Lapsed pages and stages are re-enqueued at once, whatever the dossier's age."""
    page = _page(dossier)
    work = DocumentWork.objects.create(document=page.document, stage=DocumentWork.Stage.ASSEMBLE)
    past = timezone.now() - timedelta(seconds=1)
    Page.objects.filter(pk=page.pk).update(lease_holder="gone:1:x", lease_until=past)
    DocumentWork.objects.filter(pk=work.pk).update(lease_holder="gone:1:y", lease_until=past)
    fresh = _page(dossier)
    claim(Page, fresh.pk)
    with (
        mock.patch("digitize.tasks.ocr_page.delay") as ocr,
        mock.patch("digitize.tasks.assemble_document.delay") as assemble,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert recover_leases() == {"page": 1, "assemble": 1}
    ocr.assert_called_once_with(page.pk)
    assemble.assert_called_once_with(page.document_id)


def test_a_page_whose_message_was_lost_is_sent_again_after_the_grace(
    dossier: Dossier, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    """A page sent to the queue and never taken (the broker restarted before writing the
    message down) is sent again once its grace has passed, and only then; a worker then
    takes it as if it had never been marked."""
    page = _page(dossier)
    mark_queued(Page, [page.pk], grace_s=60)
    assert lapsed(Page) == []
    taken = claim(Page, page.pk)
    assert taken.outcome == "taken"  # a queued page is free for a worker
    assert taken.holder is not None and release(Page, page.pk, taken.holder)
    other = _page(dossier)
    mark_queued(Page, [other.pk], grace_s=60)
    later = timezone.now() + timedelta(seconds=61)
    assert lapsed(Page, now=later) == [other.pk]
    with (
        mock.patch("digitize.tasks.ocr_page.delay") as ocr,
        django_capture_on_commit_callbacks(execute=True),
    ):
        Page.objects.filter(pk=other.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
        assert recover_leases() == {"page": 1}
        assert recover_leases() == {}  # marked queued again: not sent a third time at once
    ocr.assert_called_once_with(other.pk)


def test_a_page_that_kills_its_worker_every_time_fails_its_document(
    data_dirs: DataDirs, dossier: Dossier
) -> None:
    """After max_claims claims without a release the next delivery fails it with a reason."""
    page = _page(dossier)
    dead = new_holder(pid=2**22 + 9)
    Page.objects.filter(pk=page.pk).update(
        lease_holder=dead, lease_until=timezone.now(), lease_claims=LEASE_TERMS.max_claims
    )
    with mock.patch("digitize.tasks.process_page") as process:
        ocr_page.run(page.pk)
    process.assert_not_called()
    document = Document.objects.get(pk=page.document_id)
    assert document.state == DocumentState.FAILED
    assert Event.objects.filter(document=document, kind="failed").exists()
    reason = document.reason
    assert "trang 1" in reason and "3 lần" in reason
    assert Page.objects.get(pk=page.pk).lease_holder == ""
