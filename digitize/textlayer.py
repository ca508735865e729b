"""A page's invisible text layer: recognised lines and words, and the PDF text drawn over them."""

from __future__ import annotations

import io
import json
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from core.files import write_atomically

__all__ = [
    "FONT_NAME",
    "GLYPHLESS_ADVANCE",
    "Line",
    "PageLayout",
    "Word",
    "build_glyphless_font",
    "cid_to_gid_map",
    "glyphless_font_program",
    "pdf_number",
    "read_layout",
    "text_layer_stream",
    "to_unicode_cmap",
    "write_layout",
]

FONT_NAME = "GlyphLessFont"
"""PostScript name of the embedded font that draws nothing (BaseFont and FontName)."""

GLYPHLESS_ADVANCE = 500
"""Advance width of every glyph of the glyphless font, in thousandths of the font size
(the font dictionary's /DW and the font program's hmtx agree on it)."""

GLYPHLESS_FONT_FILE = Path(__file__).with_name("data") / "glyphless.ttf"
"""Where the glyphless font's program is shipped."""

_UNITS_PER_EM = 1000
"""Design units per em of the glyphless font: widths are then thousandths, as in PDF."""

_LAYOUT_VERSION = 1
"""Format version of the layout files written by :func:`write_layout`."""

_MIN_SPACE = 0.05
"""Width of the space between two words whose boxes touch or overlap, in ems."""

_FLAT_RISE_IN = 1 / 72
"""A line whose baseline rises less than this (inches, over its whole length) is drawn
level: viewers select and highlight level text better, and the error is under a point."""


@dataclass(frozen=True)
class Word:
    text: str
    """The word as recognised, NFC."""

    box: tuple[int, int, int, int]
    """Left, top, right and bottom edges in pixels of the page image (top-left origin)."""

    confidence: float
    """Tesseract's confidence in the word, 0 to 100."""


@dataclass(frozen=True)
class Line:
    baseline: tuple[int, int, int, int]
    """Two points (x1, y1, x2, y2) in pixels through which the line's baseline passes,
    left to right."""

    box: tuple[int, int, int, int]
    """Left, top, right and bottom edges of the line in pixels."""

    words: tuple[Word, ...]
    """The line's words, in reading order."""


@dataclass(frozen=True)
class PageLayout:
    width: int
    """Width of the page image in pixels."""

    height: int
    """Height of the page image in pixels."""

    dpi: int
    """Resolution of the page image."""

    lines: tuple[Line, ...]
    """Recognised text lines in reading order."""


def write_layout(layout: PageLayout, path: Path) -> None:
    """Write a page layout as compact JSON under a temporary name, then rename it to ``path``."""
    document = {
        "version": _LAYOUT_VERSION,
        "width": layout.width,
        "height": layout.height,
        "dpi": layout.dpi,
        "lines": [
            {
                "baseline": list(line.baseline),
                "box": list(line.box),
                "words": [[w.text, *w.box, round(w.confidence, 2)] for w in line.words],
            }
            for line in layout.lines
        ],
    }
    encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    write_atomically(path, encoded, durable=False)  # a working file: a retry rebuilds it


def read_layout(path: Path) -> PageLayout:
    """Read a layout written by :func:`write_layout` (raises OSError, ValueError, KeyError)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("version") != _LAYOUT_VERSION:
        raise ValueError(f"unknown layout version {document.get('version')!r}")
    lines = tuple(
        Line(
            baseline=_four(line["baseline"]),
            box=_four(line["box"]),
            words=tuple(
                Word(text=str(w[0]), box=_four(w[1:5]), confidence=float(w[5]))
                for w in line["words"]
            ),
        )
        for line in document["lines"]
    )
    return PageLayout(
        width=int(document["width"]),
        height=int(document["height"]),
        dpi=int(document["dpi"]),
        lines=lines,
    )


def _four(values: Sequence[object]) -> tuple[int, int, int, int]:
    """Four integers from a JSON list (raises ValueError when there are not four)."""
    a, b, c, d = (int(v) for v in values)  # type: ignore[call-overload]
    return a, b, c, d


def text_layer_stream(layout: PageLayout, font: str = "/F0") -> bytes:
    """The content stream that lays the page's words, invisible, over its image.

    Coordinates are PDF points on a page of the image's size at its resolution.
    Each line is one text object set on its baseline (turned by the baseline's
    slope unless nearly level) at a size that spans its words from the baseline to
    their top (the median word's: a pen stroke through a few words does not make the
    whole line tall enough to overlap its neighbours). Each word starts at its own box
    (a relative move from the previous word's start) and is stretched horizontally to
    cover the box exactly; a space stretched over the gap (a sliver when boxes touch
    or overlap) follows it, so that selecting, searching and copying follow the words
    as scanned, with spaces between them.
    Text is written in render mode 3 (neither filled nor stroked) with ``font``,
    the resource name of the glyphless font.
    """
    scale = 72.0 / layout.dpi
    page_height = layout.height * scale
    out = io.StringIO()
    for line in layout.lines:
        encoded = [(w, *_code_units(w.text)) for w in line.words]
        words = [(w, hexed, count) for w, hexed, count in encoded if count]
        if not words:
            continue
        x1, y1, x2, y2 = line.baseline
        if x2 <= x1 or abs(y2 - y1) < _FLAT_RISE_IN * layout.dpi:
            y1 = y2 = (y1 + y2) // 2
            x2 = max(x2, x1 + 1)
        angle = math.atan2(y1 - y2, x2 - x1)  # counter-clockwise, y up
        cos, sin = math.cos(angle), math.sin(angle)
        left = words[0][0].box[0]
        start_y = _baseline_at((x1, y1, x2, y2), left)
        size = max(1.0, _height((x1, y1, x2, y2), [w for w, _, _ in words]) * scale)
        origin_x, origin_y = left * scale, page_height - start_y * scale
        matrix = " ".join(map(pdf_number, (cos, sin, -sin, cos, origin_x, origin_y)))
        out.write(f"BT 3 Tr {font} {pdf_number(size)} Tf {matrix} Tm")
        advance = size * GLYPHLESS_ADVANCE / 1000.0
        previous = left
        for index, (word, hexed, count) in enumerate(words):
            if index:
                # Each word starts where it was seen, whatever its neighbour drew:
                # boxes that touch or overlap must not push the rest of the line.
                out.write(f" {pdf_number((word.box[0] - previous) * scale / cos)} 0 Td")
                previous = word.box[0]
            width = (word.box[2] - word.box[0]) * scale / cos
            out.write(f" {pdf_number(_stretch(width, count, advance))} Tz <{hexed}> Tj")
            if index + 1 < len(words):
                gap = (words[index + 1][0].box[0] - word.box[2]) * scale / cos
                space = max(gap, _MIN_SPACE * size)
                out.write(f" {pdf_number(_stretch(space, 1, advance))} Tz <0020> Tj")
        out.write(" ET\n")
    return out.getvalue().encode("ascii")


def _height(baseline: tuple[int, int, int, int], words: Sequence[Word]) -> float:
    """The median height, in pixels, of the words above the baseline under each of them."""
    heights = sorted(_baseline_at(baseline, w.box[0]) - w.box[1] for w in words)
    return heights[len(heights) // 2]


def _baseline_at(baseline: tuple[int, int, int, int], x: int) -> float:
    """The baseline's height in pixels (from the top) above the column ``x``."""
    x1, y1, x2, y2 = baseline
    return y1 + (y2 - y1) * (x - x1) / (x2 - x1)


def _stretch(width: float, glyphs: int, advance: float) -> float:
    """Horizontal scaling (percent) that makes ``glyphs`` glyphs span ``width`` points."""
    return max(0.0, 100.0 * width / (glyphs * advance))


def _code_units(text: str) -> tuple[str, int]:
    """A word in NFC as hex UTF-16BE code units, and their count; characters beyond the
    BMP (which the two-byte ToUnicode map cannot carry) become U+FFFD."""
    text = unicodedata.normalize("NFC", "".join(text.split()))
    if text and max(text) > "\uffff":
        text = "".join(c if c <= "\uffff" else "\ufffd" for c in text)
    return text.encode("utf-16-be").hex().upper(), len(text)


def pdf_number(value: float, places: int = 3) -> str:
    """A number as written in a content stream: fixed point, no trailing zeros, no "-0"."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


@cache
def glyphless_font_program() -> bytes:
    """The TrueType program of the glyphless font, as shipped in ``digitize/data``.

    It is :func:`build_glyphless_font`'s output, kept as a file so that assembling
    a document does not load the font tools (a test checks the two agree).
    """
    return GLYPHLESS_FONT_FILE.read_bytes()


def build_glyphless_font() -> bytes:
    """Build a TrueType font whose glyphs are all empty and :data:`GLYPHLESS_ADVANCE` wide.

    Built the same every time (fixed dates, no hinting), so documents stay
    reproducible. Glyph 1 is the one every character code is mapped to
    (:func:`cid_to_gid_map`); glyph 0 is the required .notdef.
    """
    from fontTools.fontBuilder import FontBuilder  # type: ignore[import-untyped]
    from fontTools.pens.ttGlyphPen import TTGlyphPen  # type: ignore[import-untyped]

    builder = FontBuilder(_UNITS_PER_EM, isTTF=True)
    glyphs = [".notdef", "glyph1"]
    builder.setupGlyphOrder(glyphs)
    builder.setupCharacterMap({0x20: "glyph1"})
    empty = TTGlyphPen(None).glyph()
    builder.setupGlyf({name: empty for name in glyphs})
    builder.setupHorizontalMetrics({name: (GLYPHLESS_ADVANCE, 0) for name in glyphs})
    builder.setupHorizontalHeader(ascent=_UNITS_PER_EM, descent=0)
    builder.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=_UNITS_PER_EM, sTypoDescender=0, usWinAscent=_UNITS_PER_EM)
    builder.setupPost()
    builder.setupHead(unitsPerEm=_UNITS_PER_EM, created=0, modified=0)
    out = io.BytesIO()
    builder.font.save(out, reorderTables=True)
    return out.getvalue()


def cid_to_gid_map() -> bytes:
    """The CIDToGIDMap stream's data: every two-byte CID to glyph 1.

    Glyph 0 would do as well in theory, but some readers then refuse to extract
    the text, so the map points at a real, empty glyph.
    """
    return b"\x00\x01" * 65536


def to_unicode_cmap() -> bytes:
    """The ToUnicode CMap: each two-byte code is the UTF-16 code unit of its character.

    One range per high byte (a range may not carry its last byte past FF), in
    blocks of at most 100 as CMaps allow, leaving out the surrogates D800–DFFF.
    """
    ranges = [
        f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256) if not 0xD8 <= hi <= 0xDF
    ]
    blocks = [
        f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange\n"
        for chunk in (ranges[i : i + 100] for i in range(0, len(ranges), 100))
    ]
    return (
        "/CIDInit /ProcSet findresource begin\n"
        "12 dict begin\n"
        "begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n"
        "/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + "".join(blocks) + "endcmap\n"
        "CMapName currentdict /CMap defineresource pop\n"
        "end\n"
        "end\n"
    ).encode("ascii")
