"""Tests of the inbox watcher's scan pass, end to end with a fake clock."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks

from dossiers.files import REASON_FILE
from dossiers.models import Document, DocumentState, Dossier
from tests.conftest import DataDirs
from watch_folders.models import Intake
from watch_folders.services.watcher import InboxWatcher
from watch_folders.stability import StabilityTracker


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def watcher(data_dirs: DataDirs, clock: FakeClock) -> InboxWatcher:
    return InboxWatcher(data_dirs.inbox, StabilityTracker(settle_s=5.0, clock=clock))


def test_scan_claims_a_settled_folder_and_refuses_loose_files(
    data_dirs: DataDirs,
    dossier: Dossier,
    watcher: InboxWatcher,
    clock: FakeClock,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Scans wait out the settle delay, then the folder is claimed and a loose file refused."""
    office_dir = data_dirs.inbox / dossier.office.code
    folder = office_dir / dossier.code
    folder.mkdir(parents=True)
    (folder / "trang-1.png").write_bytes(b"page one")
    (office_dir / "lac-cho.pdf").write_bytes(b"%PDF loose")
    (office_dir / "dang-chep.png.part").write_bytes(b"half")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert watcher.scan_once() == 0
        clock.now = 4.0
        assert watcher.scan_once() == 0
        assert folder.exists() and not Document.objects.exists()
        clock.now = 5.0
        assert watcher.scan_once() == 2

    document = Document.objects.get()
    assert document.state == DocumentState.RECEIVED
    assert not folder.exists()
    assert Path(document.source_dir, "trang-1.png").read_bytes() == b"page one"
    assert len(callbacks) == 1
    refused = Intake.objects.get(outcome=Intake.Outcome.REFUSED)
    assert refused.folder_name == "lac-cho.pdf"
    assert (Path(refused.path) / REASON_FILE).is_file()
    # The partial copy is neither claimed nor refused, and a further pass does nothing.
    assert (office_dir / "dang-chep.png.part").exists()
    clock.now = 60.0
    assert watcher.scan_once() == 0


def test_scan_keeps_waiting_while_a_folder_is_still_being_copied(
    data_dirs: DataDirs, dossier: Dossier, watcher: InboxWatcher, clock: FakeClock
) -> None:
    """A folder that gains a page during the delay is not claimed until quiet again."""
    folder = data_dirs.inbox / dossier.office.code / dossier.code
    folder.mkdir(parents=True)
    (folder / "trang-1.png").write_bytes(b"page one")
    watcher.scan_once()
    clock.now = 4.0
    (folder / "trang-2.png").write_bytes(b"page two")
    watcher.scan_once()
    clock.now = 6.0
    assert watcher.scan_once() == 0
    assert folder.exists()


def test_one_bad_entry_does_not_stop_the_scan(
    data_dirs: DataDirs, dossier: Dossier, watcher: InboxWatcher, clock: FakeClock
) -> None:
    """When claiming one folder raises, the watcher logs it and goes on with the rest."""
    for name in ("A-1", "B-2"):
        folder = data_dirs.inbox / dossier.office.code / name
        folder.mkdir(parents=True)
        (folder / "p.png").write_bytes(name.encode())
    calls: list[str] = []

    def flaky(folder: Path, office_code: str) -> None:
        calls.append(folder.name)
        if folder.name == "A-1":
            raise OSError("share went away")

    watcher.scan_once()
    clock.now = 10.0
    with mock.patch("watch_folders.services.watcher.claim_folder", side_effect=flaky):
        assert watcher.scan_once() == 2
    assert calls == ["A-1", "B-2"]


def test_missing_inbox_is_not_an_error(tmp_path: Path, clock: FakeClock) -> None:
    """Scanning an inbox that does not exist yet handles nothing."""
    watcher = InboxWatcher(tmp_path / "no-inbox", StabilityTracker(settle_s=1, clock=clock))
    assert watcher.scan_once() == 0
