"""The visible signature stamp: its text in Vietnamese, its layout (Decree 30/2020) and style."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, UnidentifiedImageError
from pyhanko.pdf_utils.layout import AxisAlignment, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import BaseStampStyle, TextStampStyle

from core.vntime import format_vn_datetime, to_vn
from signing.errors import StampError
from signing.stamp.drawing import ComposedStampStyle
from signing.stamp.place import StampPlacement
from signing.stamp.shaping import check_font, font_factory

__all__ = [
    "CERTIFIED_COPY_TYPE",
    "DEFAULT_FONT",
    "LAYOUTS",
    "Layout",
    "StampText",
    "format_iso_vn",
    "nfc",
    "stamp_lines",
    "stamp_style",
]

Layout = Literal["text", "personal", "certified_copy"]
"""How the stamp looks: ``text`` (a framed text stamp), ``personal`` (Appendix I of Decree
30/2020: the official's signature image under the seal, with the signing information), or
``certified_copy`` (an electronic copy from the original: the organisation's text only)."""

LAYOUTS: tuple[Layout, ...] = ("text", "personal", "certified_copy")
"""Every layout, in the order above."""

DEFAULT_FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
"""Times New Roman-compatible font with the Vietnamese letters (Liberation Serif)."""

CERTIFIED_COPY_TYPE = "Bản sao điện tử từ bản chính"
"""The copy type written first on a certified copy's stamp unless another is configured."""

_FONT_SIZE = 9
_LEADING = 12
_INK = (0.0, 0.0, 0.55)
"""Dark blue, the ink colour of signatures on Vietnamese administrative documents."""

_DECREE_FONT_SIZE = 10
"""Decree 30/2020, Appendix I: the signature information in Times New Roman, 10 pt."""

_DECREE_LEADING = 12
_BLACK = (0.0, 0.0, 0.0)

_MAX_IMAGE_PIXELS = 600
"""Longest side in pixels kept of a signature or seal image (300 dpi at 2 inches)."""


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

    layout: Layout = "text"
    """The stamp's layout (see :data:`Layout`)."""

    signature_image: Path | None = None
    """Image of the official's handwritten signature (PNG, transparent background);
    required by the ``personal`` layout, ignored by the others."""

    seal_image: Path | None = None
    """Image of the organisation's seal (PNG, transparent background), drawn over the
    left third of the signature image in the ``personal`` layout; optional."""

    verify_url: str | None = None
    """Address of the public verification page, drawn as a QR code at the stamp's right;
    None draws none. It must carry no personal data (no names, no ID numbers)."""

    copy_type: str = CERTIFIED_COPY_TYPE
    """First line of a ``certified_copy`` stamp, the form of the copy."""

    placement: StampPlacement | None = None
    """Where the stamp goes; None is the layout's default (:data:`LAYOUT_PLACEMENTS`),
    widened by the QR code when there is one."""


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC form (precomposed Vietnamese letters)."""
    return unicodedata.normalize("NFC", text)


def format_iso_vn(moment: dt.datetime) -> str:
    """Format ``moment`` in ISO 8601 Vietnam time, e.g. ``2026-11-22T14:05:03+07:00``."""
    return to_vn(moment).replace(microsecond=0).isoformat()


def stamp_lines(stamp: StampText, signed_at: dt.datetime) -> tuple[str, ...]:
    """Return the lines written on the stamp, NFC-normalised."""
    if stamp.layout == "certified_copy":
        lines: tuple[str, ...] = (
            _one_line(stamp.copy_type),
            _one_line(stamp.office_name),
            f"Thời gian ký: {format_iso_vn(signed_at)}",
        )
    elif stamp.layout == "personal":
        lines = (
            f"Ký bởi: {_one_line(stamp.signer_name)}",
            f"Cơ quan: {_one_line(stamp.office_name)}",
            f"Thời gian: {format_iso_vn(signed_at)}",
        )
    else:
        lines = (
            f"Ký bởi: {_one_line(stamp.signer_name)}",
            f"Cơ quan: {_one_line(stamp.office_name)}",
            f"Thời gian: {format_vn_datetime(signed_at)} (giờ Việt Nam)",
        )
    return tuple(nfc(line) for line in lines)


def stamp_style(stamp: StampText, signed_at: dt.datetime) -> tuple[BaseStampStyle, dict[str, str]]:
    """Build the pyHanko stamp style of ``stamp``'s layout and the text parameters for it."""
    check_font(stamp.font_path)  # fail early, before the document is touched
    if stamp.layout not in LAYOUTS:
        raise StampError(f"Không có kiểu chữ ký hiển thị “{stamp.layout}”")
    if stamp.verify_url is not None and not stamp.verify_url.startswith(("https://", "http://")):
        raise StampError("Địa chỉ kiểm tra trong mã QR phải bắt đầu bằng http:// hoặc https://")
    lines = stamp_lines(stamp, signed_at)
    if stamp.layout == "text" and stamp.verify_url is None:
        return _text_style(stamp, lines), {"noi_dung": "\n".join(lines)}
    decree = stamp.layout != "text"
    signature = seal = None
    if stamp.layout == "personal":
        if stamp.signature_image is None:
            raise StampError("Kiểu chữ ký cá nhân cần ảnh chữ ký của người ký")
        signature = _load_image(stamp.signature_image)
        seal = _load_image(stamp.seal_image) if stamp.seal_image is not None else None
    return ComposedStampStyle(
        lines=lines,
        text_box_style=_text_box_style(
            stamp.font_path,
            lines,
            size=_DECREE_FONT_SIZE if decree else _FONT_SIZE,
            leading=_DECREE_LEADING if decree else _LEADING,
            color=_BLACK if decree else _INK,
        ),
        wrap=decree,
        signature=signature,
        seal=seal,
        qr_url=stamp.verify_url,
        border_width=0 if decree else 1,
        border_color=None if decree else _INK,
        background=None,
    ), {}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _text_box_style(
    font_path: Path,
    lines: tuple[str, ...],
    *,
    size: int,
    leading: int,
    color: tuple[float, float, float],
    margin: int = 2,
    y_align: AxisAlignment = AxisAlignment.ALIGN_MID,
) -> TextBoxStyle:
    return TextBoxStyle(
        font=font_factory(font_path, lines, size),
        font_size=size,
        leading=leading,
        text_color=color,
        box_layout_rule=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MIN,
            y_align=y_align,
            margins=Margins(left=margin, right=margin, top=margin, bottom=margin),
        ),
    )


def _text_style(stamp: StampText, lines: tuple[str, ...]) -> TextStampStyle:
    # the text goes in as a template parameter, so a '%' in a name is harmless
    return TextStampStyle(
        stamp_text="%(noi_dung)s",
        text_box_style=_text_box_style(
            stamp.font_path, lines, size=_FONT_SIZE, leading=_LEADING, color=_INK
        ),
        inner_content_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MIN,
            y_align=AxisAlignment.ALIGN_MID,
            margins=Margins(left=4, right=4, top=4, bottom=4),
        ),
        border_width=1,
        border_color=_INK,
        background=None,
    )


def _load_image(path: Path) -> Image.Image:
    """Open a signature or seal image, keep its transparency, cap its resolution."""
    try:
        with Image.open(path) as opened:
            opened.load()
            image = opened.copy()
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise StampError(f"Không mở được ảnh cho chữ ký hiển thị: {path.name}") from exc
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if transparent or image.mode not in ("RGB", "L"):
        image = image.convert("RGBA" if transparent else "RGB")
    image.thumbnail((_MAX_IMAGE_PIXELS, _MAX_IMAGE_PIXELS), Image.Resampling.LANCZOS)
    return image
