"""Sending a fixed scan back in: the folder returns to its office's inbox, the watcher claims
it again, SHA-256 dedupe lets it through, and the dossier's timeline records it."""

from __future__ import annotations

from pathlib import Path

from django.contrib.messages import get_messages

from backoffice.services.refused import list_refusals
from backoffice.services.resubmit import ResubmitError, resubmit_intake
from dossiers.files import REASON_FILE
from dossiers.models import Document, DocumentState, Event, Role
from dossiers.services.registry import register_dossier
from tests.backoffice.conftest import SCANS, MakeUser, Side, drop, signed_in
from tests.conftest import DataDirs
from watch_folders.models import Intake
from watch_folders.services.claim import claim_folder, refuse_loose_file


def test_a_refused_folder_goes_back_and_is_claimed(
    data_dirs: DataDirs, side_a: Side, make_user: MakeUser
) -> None:
    """Scans dropped before their dossier was registered: register it, press "Gửi lại", and
    the watcher accepts the same folder; the refusal leaves the list, the reason file stays."""
    refused = side_a.refused
    kept = Path(refused.path)
    dossier = register_dossier(
        code=refused.folder_name,
        office=side_a.office,
        procedure=side_a.procedure,
        applicant_name="Đỗ Văn Sửa",
    ).dossier
    clerk = make_user("vanthu-a", side_a.office, Role.CLERK)
    client = signed_in(clerk)
    response = client.post(f"/ban-quet-loi/luot-nhan/{refused.pk}/gui-lai/")
    assert response.status_code == 302 and response["Location"] == "/ban-quet-loi/"
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(f"inbox/xa-a/{refused.folder_name}/" in m for m in said), said
    back = data_dirs.inbox / "xa-a" / refused.folder_name
    assert sorted(p.name for p in back.iterdir()) == sorted(SCANS)
    assert not (kept / refused.folder_name).exists()
    assert (kept / REASON_FILE).is_file(), "the reason stays in failed/"
    assert [r.pk for r in list_refusals(clerk, Role.CLERK) if r.kind == "intake"] == []
    event = Event.objects.get(dossier=dossier, kind="resubmitted")
    assert event.actor == "vanthu-a" and event.detail["intake"] == refused.pk

    result = claim_folder(back, "xa-a")
    assert result.outcome == Intake.Outcome.ACCEPTED and result.document_id is not None
    assert Document.objects.get(pk=result.document_id).dossier == dossier


def test_a_failed_document_goes_back_and_dedupe_lets_it_through(
    data_dirs: DataDirs, side_a: Side, make_user: MakeUser
) -> None:
    """The same bytes as the attempt that FAILED are not refused as a duplicate."""
    failed = side_a.failed
    scans = Path(failed.source_dir)
    assert scans.is_relative_to(data_dirs.failed)
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    response = client.post(f"/ban-quet-loi/tai-lieu/{failed.pk}/gui-lai/")
    assert response.status_code == 302
    back = data_dirs.inbox / "xa-a" / side_a.dossier.code
    assert back.is_dir() and not scans.exists()
    event = Event.objects.get(kind="resubmitted", document=failed)
    assert event.dossier == side_a.dossier

    result = claim_folder(back, "xa-a")
    assert result.outcome == Intake.Outcome.ACCEPTED, result.reason_vi
    assert result.document_id is not None
    again = Document.objects.get(pk=result.document_id)
    assert again.source_sha256 == failed.source_sha256
    assert again.state == DocumentState.RECEIVED
    # the same scans once more, while the new document is alive: that is a duplicate
    dup = claim_folder(
        drop(data_dirs.inbox, "xa-a", side_a.dossier.code, {"p.png": b"quet A"}), "xa-a"
    )
    assert dup.outcome == Intake.Outcome.DUPLICATE


def test_a_second_press_or_a_busy_inbox_says_why(
    data_dirs: DataDirs, side_a: Side, make_user: MakeUser
) -> None:
    """Nothing is overwritten: a folder of that name already waiting, or scans already sent
    back, gives the clerk a reason and moves nothing."""
    refused = side_a.refused
    waiting = drop(data_dirs.inbox, "xa-a", refused.folder_name, {"khac.png": b"khac"})
    try:
        resubmit_intake(refused, "vanthu-a")
    except ResubmitError as exc:
        assert "đã có thư mục" in exc.message_vi
    else:
        raise AssertionError("an inbox folder of the same name was overwritten")
    assert [p.name for p in waiting.iterdir()] == ["khac.png"]
    assert (Path(refused.path) / refused.folder_name).is_dir()
    assert not Event.objects.filter(kind="resubmitted").exists()

    for p in waiting.iterdir():
        p.unlink()
    waiting.rmdir()
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    url = f"/ban-quet-loi/luot-nhan/{refused.pk}/gui-lai/"
    client.post(url)
    second = client.post(url)
    said = [str(m) for m in get_messages(second.wsgi_request)]
    assert any("không còn trong thư mục lỗi" in m for m in said), said


def test_a_loose_file_cannot_be_sent_back(
    data_dirs: DataDirs, side_a: Side, make_user: MakeUser
) -> None:
    """A file dropped beside the folders is listed with its reason but cannot go back."""
    loose = data_dirs.inbox / "xa-a" / "le.pdf"
    loose.write_bytes(b"%PDF-1.4")
    refuse_loose_file(loose, "xa-a")
    intake = Intake.objects.get(folder_name="le.pdf")
    clerk = make_user("vanthu-a", side_a.office, Role.CLERK)
    listed = [r for r in list_refusals(clerk, Role.CLERK) if r.pk == intake.pk]
    assert len(listed) == 1 and not listed[0].is_folder
    try:
        resubmit_intake(intake, "vanthu-a")
    except ResubmitError as exc:
        assert "thư mục" in exc.message_vi
    else:
        raise AssertionError("a loose file was sent back")
