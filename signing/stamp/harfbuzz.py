"""Stamp text HarfBuzz shapes: the embedded TrueType font, in PDF's 1000-unit glyph space."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

from signing.stamp.shaping import font_bytes

__all__ = [
    "EmbeddedFontFactory",
    "ThousandUnitGlyphAccumulator",
]

_PDF_GLYPH_UNITS = 1000
"""Units per em of the glyph space of PDF fonts other than Type 3."""


class ThousandUnitGlyphAccumulator(GlyphAccumulator):
    """A glyph accumulator that speaks PDF's 1000-unit glyph space for any font.

    pyHanko (0.38) writes the font's own units into the widths (/W), the TJ
    adjustments and the font descriptor. PDF reads them as thousandths of an em,
    so a TrueType font with 2048 units per em (Liberation Serif) came out with
    every glyph twice as far apart as it should. Here HarfBuzz shapes at 1000
    units per em and the widths and metrics are scaled to match.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._font_units: int = self.units_per_em
        if self._font_units == _PDF_GLYPH_UNITS:
            return
        self.hb_font.scale = (_PDF_GLYPH_UNITS, _PDF_GLYPH_UNITS)
        self.units_per_em = _PDF_GLYPH_UNITS
        # pyHanko keeps the descriptor private; its metrics are in font units too
        descriptor = getattr(self.cidfont_obj, "_font_descriptor", None)
        if descriptor is None:
            return
        for key in ("/Ascent", "/Descent", "/CapHeight"):
            if key in descriptor:
                scaled = self._scaled(descriptor[key])
                descriptor[pdf_name(key)] = generic.NumberObject(scaled)  # type: ignore[no-untyped-call]
        if "/FontBBox" in descriptor:
            box = [self._scaled(v) for v in descriptor["/FontBBox"]]
            descriptor[pdf_name("/FontBBox")] = generic.ArrayObject(
                generic.NumberObject(v)  # type: ignore[no-untyped-call]
                for v in box
            )

    def _scaled(self, value: Any) -> int:
        return round(float(value) * _PDF_GLYPH_UNITS / self._font_units)

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        known: tuple[int, int] | None = self._glyphs.get(glyph_id)
        if known is not None:
            return known
        cid, width = super()._get_cid_and_width(glyph_id)
        advance = self.tt["hmtx"].metrics.get(self.tt.getGlyphName(glyph_id), (None, 0))[0]
        if advance is None or width == advance:  # still in font units: scale it
            width = self._scaled(width)
        result = (cid, width)
        self._glyphs[glyph_id] = result
        return result


@dataclass(frozen=True)
class EmbeddedFontFactory(GlyphAccumulatorFactory):
    """pyHanko's glyph accumulator factory fed from the in-memory font bytes.

    The stock factory opens the font file for every stamp and never closes it;
    this one reuses the bytes read once by :func:`font_bytes`, and its engine
    measures in PDF's 1000-unit glyph space (see :class:`ThousandUnitGlyphAccumulator`).
    """

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: Any = None
    ) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()  # type: ignore[no-untyped-call]
        return ThousandUnitGlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(font_bytes(Path(self.font_file))),
            font_size=self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
        )
