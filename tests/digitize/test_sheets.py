"""QR codes of cover and separator sheets read from 200 dpi scans, and stacks split by them."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from digitize.batch_split import split_batch
from digitize.errors import BadInputError
from digitize.sheets import _grey, _read, read_qr_codes
from dossiers.qr import SheetCode, separator_payload, sheet_code
from dossiers.receipt import lookup_link
from tests.watch_folders.stacks import (
    LOOKUP_URL,
    content_page,
    faint,
    folder_marks,
    mark,
    receipt_page,
    separator_page,
    upside_down,
    write_stack_tiff,
)


@pytest.fixture(scope="module")
def receipt() -> Image.Image:
    return receipt_page("000.00.21.H26-261122-0007")


def test_the_receipts_code_is_read_however_the_sheet_lies(receipt: Image.Image) -> None:
    """Upright, upside down, sideways, skewed a little: the lookup link with the code."""
    want = [lookup_link(LOOKUP_URL, "000.00.21.H26-261122-0007")]
    turned = [
        receipt,
        upside_down(receipt),
        receipt.rotate(90, expand=True),
        receipt.rotate(4, fillcolor=255),
    ]
    for page in turned:
        assert read_qr_codes(page) == want
    assert sheet_code(want[0]) == SheetCode("receipt", "000.00.21.H26-261122-0007")


def test_a_faint_cover_is_read_after_its_contrast_is_stretched(receipt: Image.Image) -> None:
    """A scan so light that zxing-cpp alone finds nothing still yields the code."""
    pale = faint(receipt, ink=238)
    assert _read(_grey(pale)) == []  # the plain read fails: the second pass is what works
    assert read_qr_codes(upside_down(pale)) == [
        lookup_link(LOOKUP_URL, "000.00.21.H26-261122-0007")
    ]


def test_an_ordinary_page_has_no_code() -> None:
    assert read_qr_codes(content_page("không có mã")) == []


def test_the_separator_sheet_says_next_dossier_with_or_without_a_code() -> None:
    """The printable separator's QR code is read back from a 200 dpi scan."""
    assert read_qr_codes(separator_page()) == [separator_payload()]
    coded = read_qr_codes(faint(separator_page("HS/2026 01")))
    assert [sheet_code(text) for text in coded] == [SheetCode("separator", "HS/2026 01")]
    assert sheet_code("https://cong.gov.vn/khac/?ma=1") is None
    assert sheet_code("001099012345||Nguyễn Văn A") is None  # an identity card's QR code


def _classify(codes: object) -> str | None:
    for text in codes:  # type: ignore[attr-defined]
        sheet = sheet_code(text)
        if sheet is not None:
            return sheet.dossier_code or "?"
    return None


def test_a_multipage_tiff_is_split_at_each_sheet_and_the_sheets_left_out(tmp_path: Path) -> None:
    """Parts in the stack's order, each a TIFF a page; splitting again gives the same."""
    plain = [content_page(f"p{n}") for n in range(4)]
    pages = [plain[0], receipt_page("A"), plain[1], plain[2], separator_page("B"), plain[3]]
    stack = tmp_path / "lo.tif"
    write_stack_tiff(stack, pages)

    split = split_batch(stack, tmp_path / "tach", _classify)

    assert split.page_count == 6 and split.sheet_pages == (2, 5)
    assert [(p.sheet, p.sheet_page, p.pages) for p in split.parts] == [
        (None, None, (1,)),
        ("A", 2, (3, 4)),
        ("B", 5, (6,)),
    ]
    assert [folder_marks(p.folder) for p in split.parts] == [
        [mark(plain[0])],
        [mark(plain[1]), mark(plain[2])],
        [mark(plain[3])],
    ]
    again = split_batch(stack, tmp_path / "tach", _classify)
    assert [folder_marks(p.folder) for p in again.parts] == [
        folder_marks(p.folder) for p in split.parts
    ]


def test_a_stack_that_is_no_scan_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "lo.pdf"
    bad.write_bytes(b"%PDF-1.4 truncated")
    with pytest.raises(BadInputError, match=r"lo\.pdf"):
        split_batch(bad, tmp_path / "tach", _classify)


@pytest.mark.django_db
def test_the_separator_command_writes_a_sheet_that_is_read_back(tmp_path: Path) -> None:
    """``motcua manage separator`` prints a sheet the splitter recognises, code included."""
    from django.core.management import call_command

    from tests.watch_folders.stacks import rasterise

    out = tmp_path / "to-phan-cach.pdf"
    call_command("separator", str(out), "--code", "HS-9")
    codes = read_qr_codes(rasterise(out.read_bytes()))
    assert [sheet_code(text) for text in codes] == [SheetCode("separator", "HS-9")]
