"""Tests of the file-stability tracker and folder signatures, with an injected clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from watch_folders.stability import StabilityTracker, folder_signature, is_partial


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def tracker(clock: FakeClock) -> StabilityTracker:
    return StabilityTracker(settle_s=5.0, clock=clock)


def _folder(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "HS-0001"
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"scan " + name.encode())
    return folder


def test_quiet_folder_is_reported_once_settled(
    tmp_path: Path, tracker: StabilityTracker, clock: FakeClock
) -> None:
    """A folder whose listing stays the same is ready only after the settle delay has passed."""
    folder = _folder(tmp_path, "trang-1.png", "trang-2.png")
    assert not tracker.observe(folder, folder_signature(folder))
    clock.advance(4.9)
    assert not tracker.observe(folder, folder_signature(folder))
    clock.advance(0.1)
    assert tracker.observe(folder, folder_signature(folder))


def test_change_resets_the_settle_delay(
    tmp_path: Path, tracker: StabilityTracker, clock: FakeClock
) -> None:
    """A new file in the folder starts the quiet period over."""
    folder = _folder(tmp_path, "trang-1.png")
    tracker.observe(folder, folder_signature(folder))
    clock.advance(4.0)
    _folder(tmp_path, "trang-2.png")
    assert not tracker.observe(folder, folder_signature(folder))
    clock.advance(4.0)
    assert not tracker.observe(folder, folder_signature(folder))
    clock.advance(1.0)
    assert tracker.observe(folder, folder_signature(folder))


def test_growing_file_resets_the_settle_delay(
    tmp_path: Path, tracker: StabilityTracker, clock: FakeClock
) -> None:
    """A file still being written (its size changes) keeps the folder unsettled."""
    folder = _folder(tmp_path, "trang-1.png")
    tracker.observe(folder, folder_signature(folder))
    clock.advance(6.0)
    with (folder / "trang-1.png").open("ab") as fh:
        fh.write(b"more bytes")
    assert not tracker.observe(folder, folder_signature(folder))


@pytest.mark.parametrize(
    "name", ["trang-2.png.part", "~$trang-2.docx", "TRANG.TMP", "x.crdownload"]
)
def test_partial_names_block_the_folder(
    tmp_path: Path, tracker: StabilityTracker, clock: FakeClock, name: str
) -> None:
    """A folder holding an unfinished copy has no signature and is never reported ready."""
    folder = _folder(tmp_path, "trang-1.png", name)
    assert is_partial(name)
    assert folder_signature(folder) is None
    for _ in range(3):
        assert not tracker.observe(folder, folder_signature(folder))
        clock.advance(10.0)


def test_partial_copy_finishing_starts_the_delay_afresh(
    tmp_path: Path, tracker: StabilityTracker, clock: FakeClock
) -> None:
    """Once the partial file is renamed to its final name, the folder must still settle."""
    folder = _folder(tmp_path, "trang-1.png", "trang-2.png.part")
    tracker.observe(folder, folder_signature(folder))
    clock.advance(30.0)
    (folder / "trang-2.png.part").rename(folder / "trang-2.png")
    assert not tracker.observe(folder, folder_signature(folder))
    clock.advance(5.0)
    assert tracker.observe(folder, folder_signature(folder))


def test_empty_folder_and_hidden_files_have_no_signature(tmp_path: Path) -> None:
    """An empty folder (or one holding only hidden files) is not ready to read."""
    folder = tmp_path / "HS-0002"
    folder.mkdir()
    assert folder_signature(folder) is None
    (folder / ".DS_Store").write_bytes(b"x")
    assert folder_signature(folder) is None
    assert folder_signature(tmp_path / "gone") is None


def test_prune_forgets_folders_no_longer_present(
    tmp_path: Path, tracker: StabilityTracker, clock: FakeClock
) -> None:
    """A pruned folder that comes back is treated as new and has to settle again."""
    kept = _folder(tmp_path, "a.png")
    other = tmp_path / "HS-0009"
    other.mkdir()
    (other / "b.png").write_bytes(b"b")
    tracker.observe(kept, folder_signature(kept))
    tracker.observe(other, folder_signature(other))
    clock.advance(10.0)
    tracker.prune({kept})
    assert tracker.observe(kept, folder_signature(kept))
    assert not tracker.observe(other, folder_signature(other))


def test_forget_restarts_tracking(
    tmp_path: Path, tracker: StabilityTracker, clock: FakeClock
) -> None:
    """A forgotten folder is not reported ready on its next observation."""
    folder = _folder(tmp_path, "a.png")
    tracker.observe(folder, folder_signature(folder))
    clock.advance(10.0)
    tracker.forget(folder)
    assert not tracker.observe(folder, folder_signature(folder))


def test_zero_settle_reports_at_first_sight(tmp_path: Path, clock: FakeClock) -> None:
    """With no settle delay, a readable folder is ready as soon as it is seen."""
    folder = _folder(tmp_path, "a.png")
    assert StabilityTracker(settle_s=0, clock=clock).observe(folder, folder_signature(folder))
