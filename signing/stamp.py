"""The visible signature stamp: Vietnamese text in an embedded TrueType font."""

from __future__ import annotations

import datetime as dt
import functools
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fontTools import ttLib  # type: ignore[import-untyped]  # fontTools ships no stubs
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.layout import AxisAlignment, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import TextStampStyle

from signing.errors import StampError
from signing.vntime import format_vn_datetime

__all__ = [
    "DEFAULT_FONT",
    "STAMP_HEIGHT",
    "STAMP_MARGIN",
    "STAMP_WIDTH",
    "StampText",
    "default_stamp_box",
    "nfc",
    "stamp_lines",
    "stamp_style",
]

DEFAULT_FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
"""Times New Roman-compatible font with the Vietnamese letters (Liberation Serif)."""

STAMP_WIDTH = 220.0
"""Default stamp width in points."""

STAMP_HEIGHT = 70.0
"""Default stamp height in points."""

STAMP_MARGIN = 36.0
"""Default distance in points between the stamp and the page's right and bottom edges."""

_FONT_SIZE = 9
_LEADING = 12
_INK = (0.0, 0.0, 0.55)
"""Dark blue, the ink colour of signatures on Vietnamese administrative documents."""


@dataclass(frozen=True)
class StampText:
    signer_name: str
    """Name of the person signing, shown after "Ký bởi:"."""

    office_name: str
    """Name of the signing office (cơ quan), shown after "Cơ quan:"."""

    signed_at: dt.datetime | None = None
    """Signing time shown on the stamp and claimed in the signature; None means now.

    An aware value is converted, a naive one is taken to be UTC; it is shown in
    Asia/Ho_Chi_Minh time.
    """

    font_path: Path = DEFAULT_FONT
    """TrueType or OpenType font with Vietnamese glyphs, embedded as a subset."""


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC form (precomposed Vietnamese letters)."""
    return unicodedata.normalize("NFC", text)


def stamp_lines(stamp: StampText, signed_at: dt.datetime) -> tuple[str, ...]:
    """Return the lines written on the stamp, NFC-normalised."""
    return tuple(
        nfc(line)
        for line in (
            f"Ký bởi: {_one_line(stamp.signer_name)}",
            f"Cơ quan: {_one_line(stamp.office_name)}",
            f"Thời gian: {format_vn_datetime(signed_at)} (giờ Việt Nam)",
        )
    )


def stamp_style(stamp: StampText, signed_at: dt.datetime) -> tuple[TextStampStyle, dict[str, str]]:
    """Build the pyHanko text stamp style and the text parameters to pass with it."""
    font_bytes(stamp.font_path)  # fail early, before the document is touched
    # the text goes in as a template parameter, so a '%' in a name is harmless
    text = "\n".join(stamp_lines(stamp, signed_at))
    return TextStampStyle(
        stamp_text="%(noi_dung)s",
        text_box_style=TextBoxStyle(
            font=_EmbeddedFontFactory(
                font_file=str(stamp.font_path), font_size=_FONT_SIZE, bcp47_lang_code="vi"
            ),
            font_size=_FONT_SIZE,
            leading=_LEADING,
            text_color=_INK,
            box_layout_rule=SimpleBoxLayoutRule(
                x_align=AxisAlignment.ALIGN_MIN,
                y_align=AxisAlignment.ALIGN_MID,
                margins=Margins(left=2, right=2, top=2, bottom=2),
            ),
        ),
        inner_content_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MIN,
            y_align=AxisAlignment.ALIGN_MID,
            margins=Margins(left=4, right=4, top=4, bottom=4),
        ),
        border_width=1,
        border_color=_INK,
        background=None,
    ), {"noi_dung": text}


def default_stamp_box(
    page_box: tuple[float, float, float, float],
) -> tuple[float, float, float, float]:
    """Return the default stamp rectangle in the bottom-right corner of ``page_box``."""
    x0, y0, x1, y1 = page_box
    width = min(STAMP_WIDTH, (x1 - x0) / 2)
    height = min(STAMP_HEIGHT, (y1 - y0) / 4)
    margin = min(STAMP_MARGIN, (x1 - x0) / 10, (y1 - y0) / 10)
    right, bottom = x1 - margin, y0 + margin
    return (right - width, bottom, right, bottom + height)


@functools.lru_cache(maxsize=8)
def font_bytes(path: Path) -> bytes:
    """Return the font file's bytes, read once per process and cleaned for subsetting."""
    try:
        with path.open("rb") as handle:
            font = ttLib.TTFont(handle, lazy=False)
            # FontForge's timestamp table is not needed and fontTools' subsetter
            # warns about it on every signature; drop it once here.
            if "FFTM" in font:
                del font["FFTM"]
            out = io.BytesIO()
            font.save(out)
    except (OSError, ttLib.TTLibError) as exc:
        raise StampError(f"Không mở được phông chữ cho chữ ký hiển thị: {path}") from exc
    return out.getvalue()


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class _EmbeddedFontFactory(GlyphAccumulatorFactory):
    """pyHanko's glyph accumulator factory fed from the in-memory font bytes.

    The stock factory opens the font file for every stamp and never closes it;
    this one reuses the bytes read once by :func:`font_bytes`.
    """

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: Any = None
    ) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()  # type: ignore[no-untyped-call]
        return GlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(font_bytes(Path(self.font_file))),
            font_size=self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
        )
