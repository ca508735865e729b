"""Loose files, sidecars, unsafe entries and the watched folders' configuration, with the
real watcher where timing matters."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from backoffice.services.refused import list_refusals
from dossiers.models import Document, Dossier, Membership, Office, Procedure, Role
from tests.conftest import DataDirs, MakeDossier, sign_in
from tests.watch_folders.running import Session, run_watcher
from tests.watch_folders.stacks import content_page, jpeg
from watch_folders.errors import WatchConfigError
from watch_folders.layouts import LOOSE_FILES, LoosePattern, is_network_path, mount_type
from watch_folders.models import Intake, WatchedFolder
from watch_folders.services.claim import claim_folder, refuse_loose_file
from watch_folders.services.watcher import run


@pytest.fixture()
def quick(settings: Settings) -> None:
    settings.WATCH_SETTLE_S = 0.6
    settings.WATCH_RESCAN_S = 0.2


@pytest.mark.usefixtures("quick")
def test_loose_files_arriving_slowly_on_a_share_make_one_document_in_page_order(
    data_dirs: DataDirs,
    tmp_path: Path,
    office: Office,
    make_dossier: MakeDossier,
    clerk: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Pages 2, 10 and 1 arrive apart, each within the settle time: one document, ordered
    by page number; a file not named by the pattern is refused with the pattern."""
    make_dossier("HS-0001")
    share = tmp_path / "chia-se"
    share.mkdir()
    WatchedFolder.objects.create(office=office, path=str(share), layout=LOOSE_FILES, polling=True)
    pages = {n: content_page(f"trang rời {n}") for n in (1, 2, 10)}
    arrived: list[float] = []

    def scanner(session: Session) -> None:
        for n in (2, 10, 1):
            temp = tmp_path / f"HS-0001_{n}.jpg"
            temp.write_bytes(jpeg(pages[n]))
            temp.rename(share / temp.name)
            arrived.append(time.monotonic())
            time.sleep(0.35)  # slower than a scan pass, quicker than the settle time
        (share / "scan0001.pdf").write_bytes(b"%PDF-1.4 not named by the pattern")

    session = run_watcher(
        scanner, lambda s: not any(share.iterdir()), django_capture_on_commit_callbacks
    )
    assert not session.timed_out, session.timed_out
    document = Document.objects.get()
    assert session.sent == [document.pk]
    folder = Path(document.source_dir)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["0001_HS-0001_1.jpg", "0002_HS-0001_2.jpg", "0003_HS-0001_10.jpg"]
    blobs = {n: jpeg(page) for n, page in pages.items()}
    assert [p.read_bytes() for p in sorted(folder.iterdir())] == [blobs[1], blobs[2], blobs[10]]
    assert arrived[-1] - arrived[0] > 0.6, "the pages did arrive slowly"
    refused = Intake.objects.get(outcome=Intake.Outcome.REFUSED)
    assert refused.folder_name == "scan0001.pdf"
    assert "không theo mẫu '<code>_<n>.<ext>'" in refused.reason
    assert [r.name for r in list_refusals(clerk, Role.CLERK)] == ["scan0001.pdf"]


def test_loose_pattern_reads_code_and_page_and_refuses_a_bad_pattern() -> None:
    pattern = LoosePattern("<code>-trang<n>.<ext>")
    assert pattern.match("000.00.21.H26-261122-0001-trang12.TIF") == (
        "000.00.21.H26-261122-0001",
        12,
    )
    assert pattern.match("ghi-chu.txt") is None
    assert LoosePattern().sidecar_code("HS-1.json") == "HS-1"
    with pytest.raises(ValueError, match="đúng một <code> và một <n>"):
        LoosePattern("<code>.<ext>")


def test_a_sidecar_registers_an_unknown_dossier_with_the_imports_validation(
    data_dirs: DataDirs,
    office: Office,
    procedure: Procedure,
    clerk: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """dossier.json beside the scans registers the dossier (receipt written, sidecar kept
    hidden, not digitized); a sidecar the import refuses sends the folder to the clerk."""
    inbox = data_dirs.inbox / office.code
    good = inbox / "HS-TINH-01"
    good.mkdir(parents=True)
    (good / "trang-1.jpg").write_bytes(jpeg(content_page("tỉnh")))
    row = {"procedure": procedure.code, "applicant_name": "Lê Văn Cường", "phone": "0912345678"}
    (good / "dossier.json").write_text(json.dumps(row, ensure_ascii=False), encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=False):
        result = claim_folder(good, office.code)
    assert result.outcome == Intake.Outcome.ACCEPTED, result.reason_vi
    dossier = Dossier.objects.get(code="HS-TINH-01")
    assert (dossier.office, dossier.procedure, dossier.applicant_name) == (
        office,
        procedure,
        "Lê Văn Cường",
    )
    assert dossier.events.filter(kind="registered").exists()
    receipt = data_dirs.root / "receipts" / office.code / "giay-hen-HS-TINH-01.pdf"
    assert receipt.read_bytes().startswith(b"%PDF") and receipt.stat().st_mode & 0o077 == 0
    intake = Intake.objects.get(outcome=Intake.Outcome.ACCEPTED)
    assert [f["name"] for f in intake.files] == ["trang-1.jpg"]
    assert (Path(result.path) / ".dossier.json").is_file()

    bad = inbox / "HS-TINH-02"
    bad.mkdir()
    (bad / "trang-1.jpg").write_bytes(b"\xff\xd8 scan")
    (bad / "DOSSIER.CSV").write_text(
        "code,office,procedure,applicant_name,email,phone,received_at\n"
        f"HS-TINH-02,{office.code},{procedure.code},,,,\n",
        encoding="utf-8",
    )
    refused = claim_folder(bad, office.code)
    assert refused.outcome == Intake.Outcome.REFUSED
    assert "không đăng ký được hồ sơ: Thiếu tên người nộp hồ sơ." in refused.reason_vi
    assert not Dossier.objects.filter(code="HS-TINH-02").exists()
    assert [r.name for r in list_refusals(clerk, Role.CLERK)] == ["HS-TINH-02"]


def test_symlinks_fifos_and_outside_hard_links_are_refused_with_a_reason(
    data_dirs: DataDirs,
    tmp_path: Path,
    make_dossier: MakeDossier,
    clerk: User,
) -> None:
    """Nothing is followed or read: each unsafe entry is named in the refusal, and every
    refusal is in the clerk's list."""
    office_code = make_dossier("HS-LK-1").dossier.office.code
    make_dossier("HS-LK-2")
    inbox = data_dirs.inbox / office_code
    inbox.mkdir(parents=True)
    secret = tmp_path / "ngoai-hop-thu.txt"
    secret.write_text("không được đọc", encoding="utf-8")
    linked = inbox / "HS-LK-1"
    linked.mkdir()
    (linked / "trang-1.jpg").symlink_to(secret)
    hard = inbox / "HS-LK-2"
    hard.mkdir()
    os.link(secret, hard / "trang-1.jpg")
    fifo = inbox / "ong-dan"
    os.mkfifo(fifo)

    first = claim_folder(linked, office_code)
    second = claim_folder(hard, office_code)
    third = refuse_loose_file(fifo, office_code)

    assert "'HS-LK-1/trang-1.jpg' là liên kết tượng trưng (symlink)" in first.reason_vi
    assert "liên kết cứng tới tệp nằm ngoài thư mục tiếp nhận" in second.reason_vi
    assert "'ong-dan' là ống dẫn (FIFO)" in third.reason_vi
    assert not Document.objects.exists()
    assert secret.read_text(encoding="utf-8") == "không được đọc"
    listed = {r.name for r in list_refusals(clerk, Role.CLERK)}
    assert listed == {"HS-LK-1", "HS-LK-2", "ong-dan"}


def test_a_hard_link_inside_the_inbox_is_accepted(
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Two names of one scan, both in the inbox, are no leak."""
    inbox = data_dirs.inbox / dossier.office.code
    folder = inbox / dossier.code
    folder.mkdir(parents=True)
    (inbox / ".ban-goc.jpg").write_bytes(b"\xff\xd8 scan")
    os.link(inbox / ".ban-goc.jpg", folder / "trang-1.jpg")
    with django_capture_on_commit_callbacks(execute=False):
        result = claim_folder(folder, dossier.office.code)
    assert result.outcome == Intake.Outcome.ACCEPTED, result.reason_vi


def test_an_output_folder_inside_a_watched_one_is_refused_at_start(
    data_dirs: DataDirs, office: Office
) -> None:
    """Watching the data folder would claim motcua's own archive: the watcher will not
    start, and the admin form says why."""
    row = WatchedFolder.objects.create(office=office, path=str(data_dirs.root))
    with pytest.raises(WatchConfigError, match="lưu trữ tiếp nhận") as caught:
        run()
    assert caught.value.disposition == "fail"
    with pytest.raises(ValidationError, match="nằm trong thư mục theo dõi"):
        row.full_clean()


def test_network_shares_are_told_from_proc_mounts(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/sda1 / ext4 rw 0 0\n"
        "//nas/scan /mnt/may\\040quet cifs rw 0 0\n"
        "nas:/srv /mnt/nfs nfs4 rw 0 0\n",
        encoding="utf-8",
    )
    text = mounts.read_text(encoding="utf-8")
    assert mount_type(Path("/mnt/may quet/xa-1"), text) == "cifs"
    assert mount_type(Path("/mnt/nfs"), text) == "nfs4"
    assert mount_type(Path("/mnt/nfsx"), text) == "ext4"
    assert is_network_path(Path("/mnt/may quet/xa-1"), mounts)
    assert not is_network_path(Path("/srv/inbox"), mounts)


def test_the_admin_page_lists_and_adds_watched_folders(
    client: Client, office: Office, data_dirs: DataDirs
) -> None:
    """A superuser sets a folder's path; an office administrator sees it but cannot."""
    root = User.objects.create_superuser("quantri", password=None)
    sign_in(client, root)
    WatchedFolder.objects.create(office=office, layout=LOOSE_FILES)
    listing = client.get("/quan-tri/watch_folders/watchedfolder/")
    assert listing.status_code == 200
    assert "Tệp rời theo mẫu tên" in listing.content.decode()
    assert f"inbox/{office.code}" in listing.content.decode()
    form = client.get("/quan-tri/watch_folders/watchedfolder/add/").content.decode()
    assert 'name="path"' in form and "Lô quét từ máy quét" in form

    head = User.objects.create_user("truongphong", is_staff=True)
    Membership.objects.create(user=head, office=office, role=Role.ADMIN)
    sign_in(client, head)
    change = client.get(
        f"/quan-tri/watch_folders/watchedfolder/{WatchedFolder.objects.get().pk}/change/"
    )
    assert change.status_code == 200
    assert 'name="path"' not in change.content.decode()
    assert 'name="layout"' in change.content.decode()
