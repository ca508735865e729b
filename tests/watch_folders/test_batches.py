"""Scanner batches through the real watcher: a stack split at receipts and separators."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from PIL import Image
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from backoffice.services.refused import list_refusals
from dossiers.files import REASON_FILE
from dossiers.models import Document, Event, Office, Role
from tests.conftest import DataDirs, MakeDossier
from tests.watch_folders.running import Session, run_watcher
from tests.watch_folders.stacks import (
    content_page,
    faint,
    folder_marks,
    mark,
    pdf_marks,
    receipt_page,
    separator_page,
    upside_down,
    write_stack_pdf,
    write_stack_tiff,
)
from watch_folders.layouts import SCANNER_BATCHES
from watch_folders.models import Intake, WatchedFolder

# The stack: (what the page is, the dossier its pages belong to). Five receipts (one
# upside down, one faint, one of a dossier nobody registered) and two separators (one
# naming its dossier, one plain, straight before a receipt).
STACK: list[tuple[str, str]] = [
    ("page", "?"), ("page", "?"),
    ("receipt-upside-down", "HS-A"), ("page", "HS-A"), ("page", "HS-A"), ("page", "HS-A"),
    ("receipt-faint", "HS-B"), ("page", "HS-B"), ("page", "HS-B"), ("page", "HS-B"),
    ("page", "HS-B"),
    ("separator", "HS-F"), ("page", "HS-F"), ("page", "HS-F"),
    ("receipt", "HS-C"), ("page", "HS-C"), ("page", "HS-C"), ("page", "HS-C"),
    ("separator", ""), ("receipt", "HS-D"), ("page", "HS-D"), ("page", "HS-D"),
    ("page", "HS-D"), ("page", "HS-D"), ("page", "HS-D"),
    ("receipt", "HS-KHONG-CO"), ("page", "HS-KHONG-CO"), ("page", "HS-KHONG-CO"),
    ("page", "HS-KHONG-CO"), ("page", "HS-KHONG-CO"),
]  # fmt: skip
REGISTERED = ("HS-A", "HS-B", "HS-C", "HS-D", "HS-F")


def render_stack(path: Path) -> dict[str, str]:
    """Write the stack as a batch PDF; return each content page's fingerprint (as the
    digitizer decodes it) with the dossier it is for."""
    pages: list[Image.Image] = []
    for number, (kind, code) in enumerate(STACK, start=1):
        if kind == "page":
            page = content_page(f"trang {number} của {code}")
        elif kind == "separator":
            page = separator_page(code)
        elif kind == "receipt-upside-down":
            page = upside_down(receipt_page(code))
        elif kind == "receipt-faint":
            page = faint(receipt_page(code))
        else:
            page = receipt_page(code)
        pages.append(page)
    write_stack_pdf(path, pages)
    marks = pdf_marks(path)
    assert len(set(marks)) == len(STACK)
    return {m: code for m, (kind, code) in zip(marks, STACK, strict=True) if kind == "page"}


@pytest.fixture()
def quick(settings: Settings) -> None:
    settings.WATCH_SETTLE_S = 0.4
    settings.WATCH_RESCAN_S = 0.2


def scanner_folder(tmp_path: Path, office: Office, polling: bool = False) -> Path:
    folder = tmp_path / "may-quet"
    folder.mkdir()
    WatchedFolder.objects.create(
        office=office, path=str(folder), layout=SCANNER_BATCHES, polling=polling
    )
    return folder


@pytest.mark.usefixtures("quick")
def test_a_scanned_stack_is_split_into_one_document_per_dossier(
    data_dirs: DataDirs,
    tmp_path: Path,
    office: Office,
    make_dossier: MakeDossier,
    clerk: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A 30-page batch PDF at 200 dpi: each dossier's pages in its own document, in order,
    the sheets left out, the pages without a dossier in the clerk's refused list."""
    for code in REGISTERED:
        make_dossier(code)
    folder = scanner_folder(tmp_path, office)
    stack = tmp_path / "lo-quet-001.pdf"
    owners = render_stack(stack)

    def scan(session: Session) -> None:
        stack.rename(folder / stack.name)  # the scanner's file appears whole

    capture = django_capture_on_commit_callbacks
    session = run_watcher(scan, lambda s: not any(folder.iterdir()), capture)
    assert not session.timed_out, session.timed_out

    documents = Document.objects.select_related("dossier").order_by("pk")
    assert sorted(session.sent) == sorted(d.pk for d in documents)
    assert len(documents) == len(REGISTERED)
    found: Counter[str] = Counter()
    for document in documents:
        marks = folder_marks(Path(document.source_dir))
        expected = [m for m, code in owners.items() if code == document.dossier.code]
        assert marks == expected, document.dossier.code  # its pages, in the stack's order
        found.update(marks)
        event = Event.objects.get(document=document, kind="scans_received")
        assert event.detail["pages"] == Intake.objects.get(document=document).pages
    assert sorted(d.dossier.code for d in documents) == sorted(REGISTERED)

    refused = Intake.objects.filter(outcome=Intake.Outcome.REFUSED).order_by("pages")
    assert [(i.pages, i.dossier_code) for i in refused] == [("1–2", ""), ("27–30", "HS-KHONG-CO")]
    before, unknown = refused
    assert "nằm trước giấy tiếp nhận hoặc tờ phân cách đầu tiên" in before.reason
    assert "Không tìm thấy hồ sơ mã 'HS-KHONG-CO'" in unknown.reason
    assert "trang 26" in unknown.reason
    for intake in refused:
        kept = Path(intake.path)
        assert kept.is_relative_to(data_dirs.failed / office.code)
        assert (kept / REASON_FILE).is_file()
        found.update(folder_marks(kept / intake.folder_name))
    # Every page of the stack but the sheets is in exactly one place.
    assert found == Counter(owners.keys())
    listed = list_refusals(clerk, Role.CLERK)
    assert sorted(r.pk for r in listed) == sorted(i.pk for i in refused)


@pytest.mark.usefixtures("quick")
def test_a_multipage_tiff_on_a_polled_share_is_split_too(
    data_dirs: DataDirs,
    tmp_path: Path,
    office: Office,
    make_dossier: MakeDossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The polling observer (a network share) sees a TIFF stack; each part's pages are
    TIFFs a page, and a separator naming no dossier refuses what follows it."""
    make_dossier("HS-T1")
    make_dossier("HS-T2")
    folder = scanner_folder(tmp_path, office, polling=True)
    plain = [content_page(f"t{n}") for n in range(5)]
    pages = [
        receipt_page("HS-T1"),
        plain[0],
        plain[1],
        separator_page("HS-T2"),
        plain[2],
        separator_page(),
        plain[3],
        plain[4],
    ]

    def scan(session: Session) -> None:
        write_stack_tiff(folder / "lo.tif", pages)

    capture = django_capture_on_commit_callbacks
    session = run_watcher(scan, lambda s: not any(folder.iterdir()), capture)
    assert not session.timed_out, session.timed_out
    by_code = {
        d.dossier.code: folder_marks(Path(d.source_dir))
        for d in Document.objects.select_related("dossier")
    }
    assert by_code == {
        "HS-T1": [mark(plain[0]), mark(plain[1])],
        "HS-T2": [mark(plain[2])],
    }
    refused = Intake.objects.get(outcome=Intake.Outcome.REFUSED)
    assert refused.pages == "7–8"
    assert "tờ phân cách không ghi mã hồ sơ (trang 6)" in refused.reason
    kept = Path(refused.path) / refused.folder_name
    assert folder_marks(kept) == [mark(plain[3]), mark(plain[4])]
