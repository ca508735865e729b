"""Bad and odd pages end to end: each gives a valid PDF/A or a refusal a clerk can read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from core.pdfa.check import check_pdfa
from digitize.errors import BadInputError
from digitize.findings import ScanQualityError
from digitize.pipeline import DigitizeResult, digitize_files
from tests.support.oddpages import Written, odd_case, pdf_images, run_digitize_command
from tests.support.scans import corpus_paragraphs, write_scan
from tests.support.text import cer

A4_POINTS = (595.3, 841.9)
"""An A4 page in PDF points."""

_VIETNAMESE = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]")

_TECHNICAL = re.compile(r"Error|Traceback|errno|Exception|None|\\n", re.IGNORECASE)


def _write(name: str, tmp_path: Path) -> Written:
    """Write the inputs of the odd case called ``name`` under ``tmp_path/scans``."""
    return odd_case(name).write(tmp_path / "scans")


def _out(tmp_path: Path) -> Path:
    """Where the PDF goes: a folder of its own, so that any leftover in it shows."""
    folder = tmp_path / "ket-qua"
    folder.mkdir()
    return folder / "ho-so.pdf"


def _assert_valid_pdfa(out: Path, pages: int) -> PdfReader:
    """The output passes the structural PDF/A-2b check and has ``pages`` pages."""
    assert check_pdfa(out.read_bytes()) == []
    reader = PdfReader(out)
    assert len(reader.pages) == pages
    return reader


def _assert_clerk_message(message: str) -> None:
    """A Vietnamese sentence with no technical noise in it."""
    assert message.strip()
    assert _VIETNAMESE.search(message), message
    assert not _TECHNICAL.search(message), message


def _assert_nothing_written(out: Path) -> None:
    """Neither the PDF nor a temporary file of it is left in the output folder."""
    assert list(out.parent.iterdir()) == []


def _digitize(written: Written, out: Path) -> DigitizeResult:
    return digitize_files(list(written.inputs), out, jobs=2)


def _page_texts(result: DigitizeResult) -> list[str]:
    return result.text.split("\f")


def test_single_blank_page_is_refused_as_having_no_content(tmp_path: Path) -> None:
    """A dossier of one blank page (paper tone and dust) is sent back, nothing is written."""
    written, out = _write("blank page only", tmp_path), _out(tmp_path)
    with pytest.raises(ScanQualityError) as caught:
        _digitize(written, out)
    assert [(f.page, f.code, f.severity) for f in caught.value.findings] == [(1, "blank", "block")]
    assert caught.value.message_vi == (
        "Trang 1: trang trắng, không có nội dung; cả hồ sơ không có trang nào có nội dung, "
        "đề nghị kiểm tra và quét lại"
    )
    assert caught.value.disposition == "quarantine"
    _assert_nothing_written(out)


def test_blank_back_side_between_text_pages_is_kept_and_flagged(tmp_path: Path) -> None:
    """A blank middle page is kept in order, flagged blank only and stored small; its
    neighbours are still read."""
    written, out = _write("blank page among text", tmp_path), _out(tmp_path)
    result = _digitize(written, out)
    _assert_valid_pdfa(out, 3)
    assert result.pages == 3
    assert [(f.page, f.code, f.severity) for f in result.findings] == [(2, "blank", "warn")]
    first, blank, last = _page_texts(result)
    assert blank.strip() == ""
    # The blank side is stored bilevel like its neighbours, not as a photograph of paper.
    assert [image.filter for image in pdf_images(out)] == ["/CCITTFaxDecode"] * 3
    assert out.stat().st_size < 3 * 100_000
    assert cer(written.references[0], first) < 0.03
    assert cer(written.references[2], last) < 0.03


def test_photograph_is_kept_as_full_size_colour_jpeg(tmp_path: Path) -> None:
    """A photo page is stored as colour JPEG at its scanned size, never cut to G4, and passes."""
    written, out = _write("photograph", tmp_path), _out(tmp_path)
    result = _digitize(written, out)
    _assert_valid_pdfa(out, 1)
    [image] = pdf_images(out)
    with Image.open(written.inputs[0]) as scan:
        assert (image.width, image.height) == scan.size
    assert (image.filter, image.colour_space) == ("/DCTDecode", "/DeviceRGB")
    assert all(f.severity == "warn" for f in result.findings)
    assert "low_confidence" in {f.code for f in result.findings}


def test_tiny_image_is_refused_for_its_resolution(tmp_path: Path) -> None:
    """A 120 × 90 px thumbnail is refused naming its size: as A4 it would be about 11 dpi."""
    written, out = _write("tiny image 120x90", tmp_path), _out(tmp_path)
    with Image.open(written.inputs[0]) as scan:
        assert scan.size == (120, 90)
    with pytest.raises(ScanQualityError) as caught:
        _digitize(written, out)
    assert [f.code for f in caught.value.findings] == ["low_resolution"]
    assert caught.value.message_vi == (
        "Trang 1: ảnh chỉ có 120 × 90 điểm ảnh, độ phân giải thực tế khoảng 11 dpi nếu là "
        "trang khổ A4, thấp hơn mức tối thiểu 200 dpi; đề nghị quét lại"
    )
    _assert_nothing_written(out)


def test_600_dpi_colour_page_is_read_and_kept_at_full_resolution(tmp_path: Path) -> None:
    """A 600 dpi colour A4 page gives an A4 PDF page with all its pixels and text under 3% CER."""
    written, out = _write("600 dpi colour A4", tmp_path), _out(tmp_path)
    result = _digitize(written, out)
    reader = _assert_valid_pdfa(out, 1)
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=1.0)
    [image] = pdf_images(out)
    assert (image.width, image.height) == (4961, 7016)
    assert cer(written.references[0], result.text) < 0.03
    assert cer(written.references[0], reader.pages[0].extract_text()) < 0.03


def test_150_dpi_scan_is_refused_by_the_command(tmp_path: Path) -> None:
    """``motcua digitize`` on a 150 dpi scan exits 2 with the 200 dpi rule on one stderr line."""
    written, out = _write("150 dpi scan", tmp_path), _out(tmp_path)
    completed = run_digitize_command(written.inputs, out)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        "lỗi: Trang 1: độ phân giải 150 dpi, thấp hơn mức tối thiểu 200 dpi; đề nghị quét lại"
    ]
    assert not out.exists()


def test_too_dark_page_sends_the_whole_dossier_back(tmp_path: Path) -> None:
    """One page scanned too dark after a good page refuses the dossier, naming that page only."""
    good = tmp_path / "scans" / "0-trang-tot.png"
    good.parent.mkdir()
    write_scan(good, corpus_paragraphs(1, seed=42)[0], dpi=300)
    written, out = _write("too dark", tmp_path), _out(tmp_path)
    with pytest.raises(ScanQualityError) as caught:
        digitize_files([good, *written.inputs], out, jobs=2)
    assert [(f.page, f.code) for f in caught.value.findings] == [(2, "too_dark")]
    assert caught.value.message_vi == (
        "Trang 2: ảnh quét quá tối (nền giấy ở mức xám 60/255); đề nghị chỉnh độ sáng và quét lại"
    )
    _assert_clerk_message(caught.value.message_vi)
    _assert_nothing_written(out)


def test_too_faint_page_is_refused_with_its_contrast(tmp_path: Path) -> None:
    """Ink 12 grey levels under the paper is refused, the message giving the contrast measured."""
    written, out = _write("too faint", tmp_path), _out(tmp_path)
    with pytest.raises(ScanQualityError) as caught:
        _digitize(written, out)
    assert [f.code for f in caught.value.findings] == ["too_faint"]
    message = caught.value.message_vi
    assert message.startswith("Trang 1: chữ quá mờ so với nền (chữ chỉ đậm hơn nền 12 mức xám")
    assert message.endswith("đề nghị tăng độ đậm và quét lại")
    _assert_clerk_message(message)
    _assert_nothing_written(out)


def test_multipage_tiff_mixing_bilevel_and_grey_gives_a_page_each(tmp_path: Path) -> None:
    """A TIFF with a G4 bilevel frame and a grey frame gives two A4 pages read in order."""
    written, out = _write("TIFF bilevel + grey", tmp_path), _out(tmp_path)
    with Image.open(written.inputs[0]) as tiff:
        modes = []
        for frame in range(getattr(tiff, "n_frames", 1)):
            tiff.seek(frame)
            modes.append(tiff.mode)
    assert modes == ["1", "L"]
    result = _digitize(written, out)
    reader = _assert_valid_pdfa(out, 2)
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            A4_POINTS, abs=1.0
        )
    for reference, text in zip(written.references, _page_texts(result), strict=True):
        assert cer(reference, text) < 0.03


def test_image_only_pdf_from_scanner_software_is_rebuilt_by_the_command(tmp_path: Path) -> None:
    """``motcua digitize`` on a two-page JPEG image PDF exits 0 and writes a searchable PDF/A."""
    written, out = _write("image-only PDF", tmp_path), _out(tmp_path)
    assert PdfReader(written.inputs[0]).pages[0].extract_text().strip() == ""
    completed = run_digitize_command(written.inputs, out)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    [summary] = completed.stdout.splitlines()
    assert summary.startswith(f"{out}: 2 trang, ")
    reader = _assert_valid_pdfa(out, 2)
    for page, reference in zip(reader.pages, written.references, strict=True):
        assert cer(reference, page.extract_text()) < 0.03


def test_truncated_jpeg_is_refused_by_the_command_naming_it(tmp_path: Path) -> None:
    """A JPEG cut short gives exit 2 and one line saying that file is damaged, and no PDF."""
    written, out = _write("truncated JPEG", tmp_path), _out(tmp_path)
    completed = run_digitize_command(written.inputs, out)
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == ["lỗi: Tệp 'bi-cat.jpg' bị hỏng hoặc không đọc được"]
    assert not out.exists()


def test_text_file_named_as_a_jpeg_is_refused_naming_it(tmp_path: Path) -> None:
    """A text file saved with a .jpg name is bad input (not a quality refusal) naming the file."""
    written, out = _write("not an image", tmp_path), _out(tmp_path)
    with pytest.raises(BadInputError) as caught:
        _digitize(written, out)
    assert not isinstance(caught.value, ScanQualityError)
    assert caught.value.disposition == "quarantine"
    assert caught.value.message_vi.startswith(
        "Tệp 'don-de-nghi.jpg' không phải ảnh quét hoặc PDF ảnh được hỗ trợ"
    )
    _assert_clerk_message(caught.value.message_vi)
    _assert_nothing_written(out)
