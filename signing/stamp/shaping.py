"""The stamp's font: the prepared subset, or HarfBuzz for text the subset cannot draw."""

from __future__ import annotations

import functools
import io
from pathlib import Path

from fontTools import ttLib  # type: ignore[import-untyped]  # fontTools ships no stubs
from pyhanko.pdf_utils.font.api import FontEngineFactory

from signing.errors import StampError
from signing.stamp.font import PreparedFontFactory, prepared_font, prepared_font_for

__all__ = [
    "check_font",
    "font_bytes",
    "font_factory",
]


def check_font(path: Path) -> None:
    """Raise :class:`StampError` now when the stamp's font cannot be used.

    A TrueType font is proven usable by its prepared subset, which every
    Vietnamese stamp needs anyway; only a font without TrueType outlines, left to
    HarfBuzz, is read whole here.
    """
    if prepared_font(path) is None:
        font_bytes(path)


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


def font_factory(font_path: Path, lines: tuple[str, ...], size: int) -> FontEngineFactory:
    """The font of a stamp's text: the prepared subset, or HarfBuzz for text it cannot draw."""
    prepared = prepared_font_for(font_path, "".join(lines))
    if prepared is not None:
        return PreparedFontFactory(font=prepared, font_size=size, lang="vi")
    # HarfBuzz and fontTools' subsetter are imported only for such text (0.1 s)
    from signing.stamp.harfbuzz import EmbeddedFontFactory

    return EmbeddedFontFactory(font_file=str(font_path), font_size=size, bcp47_lang_code="vi")
