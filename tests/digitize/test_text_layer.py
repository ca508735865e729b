"""The invisible text layer: layout files, the glyphless font, and the text drawn in the PDF."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from PIL import Image

from core.pdfa.check import check_pdfa
from digitize.assemble import assemble_pdf
from digitize.compression import encode_image, read_encoded, write_encoded
from digitize.ocr import PageOcr
from digitize.pages import PageImage
from digitize.textlayer import (
    GLYPHLESS_ADVANCE,
    Line,
    PageLayout,
    Word,
    build_glyphless_font,
    glyphless_font_program,
    read_layout,
    text_layer_stream,
    to_unicode_cmap,
    write_layout,
)

DPI = 300


def _layout(*lines: Line) -> PageLayout:
    return PageLayout(width=2480, height=3508, dpi=DPI, lines=lines)


def _line(y: int, *words: tuple[str, int, int], rise: int = 0) -> Line:
    """A line of words (text, left, right) whose baseline is at ``y`` (rising ``rise`` px)."""
    boxes = [Word(text, (left, y - 40, right, y + 10), 91.5) for text, left, right in words]
    left, right = boxes[0].box[0], boxes[-1].box[2]
    return Line(
        baseline=(left, y, right, y - rise),
        box=(left, y - 40 - rise, right, y + 10),
        words=tuple(boxes),
    )


def _pdf_with(layout: PageLayout, tmp_path: Path) -> Path:
    """A one-page PDF of a white page with ``layout``'s text layer over it."""
    image = Image.new("L", (layout.width, layout.height), 255)
    image.save(tmp_path / "page.png", dpi=(DPI, DPI))
    page = PageImage(tmp_path / "page.png", DPI, layout.width, layout.height, "L")
    write_layout(layout, tmp_path / "page.json")
    out = tmp_path / "out.pdf"
    assemble_pdf([(page, PageOcr("", 0.0, tmp_path / "page.json"))], out)
    return out


def _bbox_words(path: Path) -> list[tuple[str, float, float, float, float]]:
    """Words pdftotext finds, with xMin, yMin, xMax, yMax in points."""
    html = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    pattern = re.compile(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [(t, float(a), float(b), float(c), float(d)) for a, b, c, d, t in pattern.findall(html)]


def test_layout_file_round_trips(tmp_path: Path) -> None:
    """A layout written and read back is the same, Vietnamese text included."""
    layout = _layout(_line(400, ("Ủy", 300, 380), ("ban", 400, 500)), _line(500, ("xã", 300, 360)))
    write_layout(layout, tmp_path / "l.json")
    assert read_layout(tmp_path / "l.json") == layout
    assert "Ủy" in (tmp_path / "l.json").read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["l.json"]


def test_layout_of_another_version_is_refused(tmp_path: Path) -> None:
    """A layout file of an unknown format version raises ValueError instead of misreading."""
    (tmp_path / "l.json").write_text('{"version": 99, "lines": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="version"):
        read_layout(tmp_path / "l.json")


def test_shipped_font_is_the_one_built_and_draws_nothing() -> None:
    """The shipped glyphless font equals a fresh build: two empty glyphs, equally wide."""
    assert glyphless_font_program() == build_glyphless_font() == build_glyphless_font()
    font = TTFont(io.BytesIO(glyphless_font_program()))
    assert font.getGlyphOrder() == [".notdef", "glyph1"]
    assert font["head"].unitsPerEm == 1000
    assert {font["hmtx"][g][0] for g in font.getGlyphOrder()} == {GLYPHLESS_ADVANCE}
    assert all(font["glyf"][g].numberOfContours == 0 for g in font.getGlyphOrder())


def test_words_are_placed_over_their_boxes_with_spaces(tmp_path: Path) -> None:
    """Each word spans its box on the page, and the words of a line read with spaces between."""
    words = (("Nguyễn", 300, 520), ("Văn", 540, 670), ("Đức", 690, 820))  # gaps of half a line
    out = _pdf_with(_layout(_line(600, *words)), tmp_path)
    placed = _bbox_words(out)
    assert [w[0] for w in placed] == ["Nguyễn", "Văn", "Đức"]
    scale = 72 / DPI
    for (_, x0, y0, x1, y1), (_, left, right) in zip(placed, words, strict=True):
        assert x0 == pytest.approx(left * scale, abs=0.6)
        assert x1 == pytest.approx(right * scale, abs=0.6)
        assert y0 == pytest.approx((600 - 40) * scale, abs=1.0)
        assert 600 * scale - 1 < y1 < (600 + 20) * scale  # the reader adds some descent
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert text.split("\n")[0] == "Nguyễn Văn Đức"


def test_overlapping_boxes_keep_words_apart_and_in_place(tmp_path: Path) -> None:
    """Words whose boxes overlap still read as separate words, and later words stay put."""
    words = (("xã", 200, 400), ("hội", 380, 600), ("chủ", 640, 800))
    out = _pdf_with(_layout(_line(600, *words)), tmp_path)
    placed = _bbox_words(out)
    assert [w[0] for w in placed] == ["xã", "hội", "chủ"]
    scale = 72 / DPI
    for (_, x0, _, x1, _), (_, left, right) in zip(placed, words, strict=True):
        assert x0 == pytest.approx(left * scale, abs=0.6)
        assert x1 == pytest.approx(right * scale, abs=0.6)


def test_tilted_line_is_drawn_along_its_baseline() -> None:
    """A line whose baseline rises is drawn turned by that slope; a level one is not turned."""
    tilted = text_layer_stream(_layout(_line(800, ("một", 300, 420), ("cửa", 460, 600), rise=30)))
    level = text_layer_stream(_layout(_line(800, ("một", 300, 420), ("cửa", 460, 600), rise=2)))
    matrix = re.search(rb"Tf (\S+) (\S+) (\S+) (\S+) \S+ \S+ Tm", tilted)
    assert matrix is not None
    a, b, c, d = (float(v) for v in matrix.groups())
    assert b > 0.05 and a == pytest.approx(d) and b == pytest.approx(-c)
    assert b" 1 0 -0 1 " in level or b" 1 0 0 1 " in level


def test_to_unicode_ranges_never_carry_past_a_byte() -> None:
    """Each ToUnicode range stays within one high byte, in blocks of at most 100."""
    cmap = to_unicode_cmap().decode("ascii")
    ranges = re.findall(r"<([0-9A-F]{4})> <([0-9A-F]{4})> <([0-9A-F]{4})>", cmap)
    assert len(ranges) == 256 - 8
    assert all(a[:2] == b[:2] == c[:2] and a[2:] == c[2:] == "00" for a, b, c in ranges)
    assert all(int(n) <= 100 for n in re.findall(r"(\d+) beginbfrange", cmap))
    assert not any(0xD8 <= int(a[:2], 16) <= 0xDF for a, _, _ in ranges)


def test_text_is_nfc_and_outside_the_bmp_is_replaced() -> None:
    """Decomposed input is drawn as NFC code units; a character beyond the BMP becomes U+FFFD."""
    decomposed = "Vie\u0302\u0323t"  # "Việt" with combining marks
    stream = text_layer_stream(_layout(_line(900, (decomposed, 300, 420), ("𝐀", 460, 500))))
    assert b"<005600691EC70074>" in stream
    assert b"<FFFD>" in stream
    assert b" 3 Tr " in stream


def test_page_with_text_layer_is_structurally_pdfa(tmp_path: Path) -> None:
    """A page carrying the text layer passes the structural PDF/A-2b check (font embedded)."""
    out = _pdf_with(_layout(_line(600, ("Hồ", 300, 380), ("sơ", 400, 480))), tmp_path)
    assert check_pdfa(out.read_bytes()) == []


def test_compressed_image_round_trips(tmp_path: Path) -> None:
    """A page image compressed beside the OCR is read back with the same samples and form."""
    image = Image.new("L", (640, 480), 255)
    image.paste(0, (100, 100, 300, 140))
    encoded = encode_image(image)
    stored = write_encoded(encoded, tmp_path / "p.img")
    assert read_encoded(stored) == encoded
    assert encoded.filter == "/CCITTFaxDecode"
    (tmp_path / "bad.img").write_bytes(b'{"filter":"/LZWDecode"}\nxx')
    with pytest.raises(ValueError):
        read_encoded(tmp_path / "bad.img")
