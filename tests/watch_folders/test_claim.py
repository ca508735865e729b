"""Tests of claiming inbox folders: acceptance, refusals into failed/, dedupe and recovery."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

from pytest_django import DjangoCaptureOnCommitCallbacks

from dossiers.files import REASON_FILE
from dossiers.models import Document, DocumentState, Dossier, Event, Office
from dossiers.services.workflow import fail_document
from tests.conftest import DataDirs
from watch_folders.models import Intake
from watch_folders.services.claim import claim_folder, recover_orphans, refuse_loose_file

SCANS = {"trang-1.png": b"\x89PNG fake page one", "trang-2.jpg": b"\xff\xd8 fake page two"}


def drop(inbox: Path, office_code: str, folder_name: str, files: dict[str, bytes]) -> Path:
    """Put a folder of scans into ``inbox/<office>/<folder>/`` as a clerk would."""
    folder = inbox / office_code / folder_name
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def only_child(folder: Path) -> Path:
    children = list(folder.iterdir())
    assert len(children) == 1, children
    return children[0]


def test_accepted_folder_becomes_a_received_document(
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A folder named after a known dossier is archived, recorded and queued after commit."""
    folder = drop(data_dirs.inbox, dossier.office.code, dossier.code, SCANS)
    with (
        mock.patch("digitize.tasks.prepare_document.delay") as delay,
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        result = claim_folder(folder, dossier.office.code)
        assert not delay.called, "enqueued before the rows were committed"
    assert result.outcome == Intake.Outcome.ACCEPTED
    assert result.document_id is not None
    document = Document.objects.get(pk=result.document_id)
    assert document.state == DocumentState.RECEIVED
    assert document.dossier == dossier
    intake = Intake.objects.get(document=document)
    assert intake.outcome == Intake.Outcome.ACCEPTED
    assert intake.sha256 == document.source_sha256
    assert sorted(f["name"] for f in intake.files) == sorted(SCANS)
    # Out of the inbox, into the intake archive, bytes unchanged.
    assert not folder.exists()
    archived = Path(document.source_dir)
    assert archived.is_relative_to(data_dirs.intake)
    assert {p.name: p.read_bytes() for p in archived.iterdir()} == SCANS
    dossier.refresh_from_db()
    assert dossier.status == Dossier.Status.PROCESSING
    assert Event.objects.filter(document=document, kind="scans_received").exists()
    assert len(callbacks) == 1
    with mock.patch("digitize.tasks.prepare_document.delay") as delay:
        callbacks[0]()
    delay.assert_called_once_with(document.pk)


def test_unknown_dossier_goes_to_failed_with_a_vietnamese_reason(
    data_dirs: DataDirs, office: Office
) -> None:
    """A folder whose name is no dossier code is kept whole in failed/ beside LY_DO.txt."""
    folder = drop(data_dirs.inbox, office.code, "HS-KHONG-CO", SCANS)
    result = claim_folder(folder, office.code)
    assert result.outcome == Intake.Outcome.REFUSED
    assert "Không tìm thấy hồ sơ mã 'HS-KHONG-CO'" in result.reason_vi
    assert not folder.exists()
    kept = result.path
    assert kept.is_relative_to(data_dirs.failed / office.code)
    reason = (kept / REASON_FILE).read_text(encoding="utf-8")
    assert "Lý do: Không tìm thấy hồ sơ mã 'HS-KHONG-CO'" in reason
    moved = kept / "HS-KHONG-CO"
    assert {p.name: p.read_bytes() for p in moved.iterdir()} == SCANS
    assert not Document.objects.exists()
    intake = Intake.objects.get()
    assert intake.outcome == Intake.Outcome.REFUSED and intake.path == str(kept)
    assert intake.dossier_code == intake.folder_name == "HS-KHONG-CO"


def test_folder_dropped_in_another_offices_inbox_is_refused(
    data_dirs: DataDirs, dossier: Dossier, other_office: Office
) -> None:
    """A dossier's scans dropped under a different office are refused, not digitized."""
    folder = drop(data_dirs.inbox, other_office.code, dossier.code, SCANS)
    result = claim_folder(folder, other_office.code)
    assert result.outcome == Intake.Outcome.REFUSED
    assert dossier.office.name in result.reason_vi
    assert f"không thuộc thư mục '{other_office.code}'" in result.reason_vi
    assert result.path.is_relative_to(data_dirs.failed / other_office.code)
    assert (result.path / dossier.code / "trang-1.png").read_bytes() == SCANS["trang-1.png"]
    assert not Document.objects.exists()


def test_same_scans_dropped_twice_are_refused_as_duplicate(
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Scans whose fingerprint matches an accepted intake are not processed again."""
    code = dossier.office.code
    with django_capture_on_commit_callbacks(execute=False):
        first = claim_folder(drop(data_dirs.inbox, code, dossier.code, SCANS), code)
    assert first.outcome == Intake.Outcome.ACCEPTED
    again = drop(data_dirs.inbox, code, dossier.code, dict(reversed(list(SCANS.items()))))
    second = claim_folder(again, code)
    assert second.outcome == Intake.Outcome.DUPLICATE
    assert "trùng" in second.reason_vi
    assert Document.objects.count() == 1
    assert Intake.objects.get(outcome=Intake.Outcome.DUPLICATE).dossier_code == dossier.code
    assert (second.path / REASON_FILE).is_file()
    assert (second.path / dossier.code / "trang-2.jpg").read_bytes() == SCANS["trang-2.jpg"]


def test_failed_folder_dropped_back_as_it_is_is_accepted(
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A failed document's folder, moved from failed/ back into the inbox, is claimed again."""
    code = dossier.office.code
    with django_capture_on_commit_callbacks(execute=False):
        first = claim_folder(drop(data_dirs.inbox, code, dossier.code, SCANS), code)
    assert first.document_id is not None
    assert fail_document(first.document_id, "Ảnh quét bị hỏng.")
    kept = Path(Document.objects.get(pk=first.document_id).source_dir)
    assert kept.name == dossier.code
    again = data_dirs.inbox / code / kept.name
    kept.rename(again)
    with django_capture_on_commit_callbacks(execute=False):
        second = claim_folder(again, code)
    assert second.outcome == Intake.Outcome.ACCEPTED, second.reason_vi
    assert Document.objects.count() == 2


def test_loose_file_beside_the_dossier_folders_is_refused(
    data_dirs: DataDirs, office: Office
) -> None:
    """A scan dropped straight into the office folder goes to failed/ with instructions."""
    loose = data_dirs.inbox / office.code / "trang-le.png"
    loose.parent.mkdir(parents=True)
    loose.write_bytes(b"loose page")
    result = refuse_loose_file(loose, office.code)
    assert result.outcome == Intake.Outcome.REFUSED
    assert f"inbox/{office.code}/<mã hồ sơ>/" in result.reason_vi
    assert not loose.exists()
    assert (result.path / "trang-le.png").read_bytes() == b"loose page"
    assert "nằm ngoài thư mục hồ sơ" in (result.path / REASON_FILE).read_text(encoding="utf-8")


def test_folder_gone_before_the_claim_is_reported_gone(data_dirs: DataDirs, office: Office) -> None:
    """A folder another watcher took first is left alone and nothing is recorded."""
    result = claim_folder(data_dirs.inbox / office.code / "HS-DA-DI", office.code)
    assert result.outcome == "gone"
    assert not Intake.objects.exists()


def test_recover_orphans_moves_unrecorded_intake_folders_to_failed(
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A folder moved into the archive without rows (a crash) goes to failed/; known ones stay."""
    code = dossier.office.code
    with django_capture_on_commit_callbacks(execute=False):
        accepted = claim_folder(drop(data_dirs.inbox, code, dossier.code, SCANS), code)
    orphan = data_dirs.intake / "2026" / "11" / "22" / "abcdef123456-HS-MO-COI"
    orphan.mkdir(parents=True)
    (orphan / "trang-1.png").write_bytes(b"orphan page")

    recovered = recover_orphans()

    assert len(recovered) == 1
    kept = recovered[0]
    assert kept.is_relative_to(data_dirs.failed / "_gian_doan")
    # The claim prefix comes off, so the clerk can drop the folder back as it is.
    assert (kept / "HS-MO-COI" / "trang-1.png").read_bytes() == b"orphan page"
    assert "gián đoạn" in (kept / REASON_FILE).read_text(encoding="utf-8")
    assert not orphan.exists()
    assert accepted.path.is_dir(), "a recorded intake must stay in the archive"
    assert recover_orphans() == []


def test_recover_orphans_without_an_archive_does_nothing(data_dirs: DataDirs, db: None) -> None:
    """With no intake archive yet there is nothing to recover."""
    data_dirs.intake.rmdir()
    assert recover_orphans() == []
