"""The visible signature stamp (Decree 30/2020 layouts): Vietnamese text in an embedded font."""

from __future__ import annotations

import datetime as dt
import functools
import io
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import segno
from fontTools import ttLib  # type: ignore[import-untyped]  # fontTools ships no stubs
from PIL import Image, UnidentifiedImageError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import pil_image
from pyhanko.pdf_utils.layout import (
    AxisAlignment,
    BoxConstraints,
    InnerScaling,
    LayoutError,
    Margins,
    SimpleBoxLayoutRule,
)
from pyhanko.pdf_utils.text import TextBox, TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter, init_xobject_dictionary
from pyhanko.stamp import BaseStamp, BaseStampStyle, TextStampStyle
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from signing.errors import PdfInputError, StampError
from signing.stamp_font import PreparedFontFactory, prepared_font_for
from signing.vntime import format_vn_datetime, to_vn

__all__ = [
    "CERTIFIED_COPY_TYPE",
    "DEFAULT_FONT",
    "LAYOUTS",
    "LAYOUT_PLACEMENTS",
    "MM",
    "QR_BORDER",
    "STAMP_HEIGHT",
    "STAMP_MARGIN",
    "STAMP_WIDTH",
    "Box",
    "Corner",
    "Layout",
    "StampPlacement",
    "StampText",
    "default_stamp_box",
    "format_iso_vn",
    "nfc",
    "placement_adjustments",
    "placement_for",
    "placement_in_pdf",
    "qr_matrix",
    "stamp_lines",
    "stamp_placement",
    "stamp_style",
]

Layout = Literal["text", "personal", "certified_copy"]
"""How the stamp looks: ``text`` (a framed text stamp), ``personal`` (Appendix I of Decree
30/2020: the official's signature image under the seal, with the signing information), or
``certified_copy`` (an electronic copy from the original: the organisation's text only)."""

LAYOUTS: tuple[Layout, ...] = ("text", "personal", "certified_copy")
"""Every layout, in the order above."""

Box = tuple[float, float, float, float]
"""A rectangle (x0, y0, x1, y1) in PDF points."""

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]

DEFAULT_FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
"""Times New Roman-compatible font with the Vietnamese letters (Liberation Serif)."""

STAMP_WIDTH = 220.0
"""Default stamp width in points."""

STAMP_HEIGHT = 70.0
"""Default stamp height in points."""

STAMP_MARGIN = 36.0
"""Default distance in points between the stamp and the page's right and bottom edges."""

MM = 72 / 25.4
"""Points in a millimetre."""

CERTIFIED_COPY_TYPE = "Bản sao điện tử từ bản chính"
"""The copy type written first on a certified copy's stamp unless another is configured."""

QR_BORDER = 2
"""Quiet zone around the verification QR code, in modules (white, drawn with it)."""

_FONT_SIZE = 9
_LEADING = 12
_INK = (0.0, 0.0, 0.55)
"""Dark blue, the ink colour of signatures on Vietnamese administrative documents."""

_DECREE_FONT_SIZE = 10
"""Decree 30/2020, Appendix I: the signature information in Times New Roman, 10 pt."""

_DECREE_LEADING = 12
_BLACK = (0.0, 0.0, 0.0)
_PAD = 4.0
"""Space in points between the stamp's edge and its content, and between its parts."""

_QR_MAX_SIDE = 56.0
"""Largest side of the QR code in points (about 2 cm)."""

_MAX_IMAGE_PIXELS = 600
"""Longest side in pixels kept of a signature or seal image (300 dpi at 2 inches)."""


@dataclass(frozen=True)
class StampPlacement:
    """Where a stamp goes: a page and a rectangle, or a corner, a size and a margin."""

    page: int = -1
    """Zero-based index of the page; negative counts from the end (-1 is the last page)."""

    corner: Corner = "bottom-right"
    """Corner of the page the stamp sits in when no explicit ``box`` is given."""

    width: float = STAMP_WIDTH
    """Stamp width in points (at most ``page_share`` of the page width)."""

    height: float = STAMP_HEIGHT
    """Stamp height in points (at most a quarter of the page height)."""

    margin: float = STAMP_MARGIN
    """Distance in points from the two page edges of the corner (at most a tenth of the page)."""

    box: Box | None = None
    """Explicit rectangle (x0, y0, x1, y1) in points; overrides corner, size and margin."""

    page_share: float = 0.5
    """Largest share of the page width the stamp may take."""

    margin_y: float | None = None
    """Distance in points from the top or bottom edge of the corner; None is ``margin``."""

    exact: bool = False
    """Take ``width``, ``height`` and the margins as given (a procedure's configured box)
    instead of capping them to shares of the page; a page too small for them still gets
    the stamp inside it, moved towards the corner and then shrunk."""

    page_fallback: bool = False
    """When the document has no page ``page``, put the stamp on its last page (its first,
    for a negative index beyond the start) instead of refusing to sign."""

    def box_in(self, page_box: Box) -> Box:
        """Return the stamp rectangle for a page whose visible area is ``page_box``."""
        if self.box is not None:
            return self.box
        x0, y0, x1, y1 = page_box
        if self.exact:
            width, height = min(self.width, x1 - x0), min(self.height, y1 - y0)
            margin = max(min(self.margin, x1 - x0 - width), 0.0)
            margin_y = self.margin if self.margin_y is None else self.margin_y
            margin_y = max(min(margin_y, y1 - y0 - height), 0.0)
            left = x0 + margin if self.corner.endswith("left") else x1 - margin - width
            bottom = y1 - margin_y - height if self.corner.startswith("top") else y0 + margin_y
            return (left, bottom, left + width, bottom + height)
        width = min(self.width, (x1 - x0) * self.page_share)
        height = min(self.height, (y1 - y0) / 4)
        margin = min(self.margin, (x1 - x0) / 10, (y1 - y0) / 10)
        left = x0 + margin if self.corner.endswith("left") else x1 - margin - width
        bottom = y1 - margin - height if self.corner.startswith("top") else y0 + margin
        return (left, bottom, left + width, bottom + height)


LAYOUT_PLACEMENTS: Mapping[Layout, StampPlacement] = MappingProxyType(
    {
        "text": StampPlacement(),
        "personal": StampPlacement(width=300.0, height=90.0, page_share=0.6),
        "certified_copy": StampPlacement(
            page=0, corner="top-right", width=250.0, height=56.0, margin=28.0
        ),
    }
)
"""Default placement per layout: bottom right of the last page, except a certified copy,
which Decree 30/2020 puts at the top right of the first page."""


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
    font_bytes(stamp.font_path)  # fail early, before the document is touched
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
    return _ComposedStampStyle(
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


def default_stamp_box(
    page_box: tuple[float, float, float, float],
) -> tuple[float, float, float, float]:
    """Return the default stamp rectangle in the bottom-right corner of ``page_box``."""
    return LAYOUT_PLACEMENTS["text"].box_in(page_box)


def placement_for(stamp: StampText) -> StampPlacement:
    """Return where ``stamp`` goes: its own placement, else its layout's default."""
    if stamp.placement is not None:
        return stamp.placement
    default = LAYOUT_PLACEMENTS[stamp.layout]
    if stamp.verify_url is None:
        return default
    # the QR code is a square as high as the content, beside the text
    extra = min(default.height - 2 * _PAD, _QR_MAX_SIDE) + _PAD
    return StampPlacement(
        page=default.page,
        corner=default.corner,
        width=default.width + extra,
        height=default.height,
        margin=default.margin,
        page_share=default.page_share,
    )


def stamp_placement(
    stamp: StampText, page_count: int, page_box_of: Callable[[int], Box]
) -> tuple[int, Box]:
    """Return the zero-based page index and the rectangle of ``stamp`` in a document.

    ``page_box_of`` gives a page's visible area (CropBox, else MediaBox) by index.
    """
    placement = placement_for(stamp)
    index = _page_index(placement, page_count)
    return index, placement.box_in(page_box_of(index))


def _page_index(placement: StampPlacement, page_count: int) -> int:
    """The zero-based page of ``placement`` in a document of ``page_count`` pages."""
    index = placement.page + page_count if placement.page < 0 else placement.page
    if 0 <= index < page_count:
        return index
    if placement.page_fallback and page_count > 0:
        return page_count - 1 if index >= page_count else 0
    raise StampError(f"Tài liệu có {page_count} trang, không có trang số {placement.page + 1}")


def placement_adjustments(stamp: StampText, pdf: bytes) -> tuple[str, ...]:
    """Say in Vietnamese how the document ``pdf`` made ``stamp``'s place differ from the asked one.

    Only a placement with ``page_fallback`` or ``exact`` is ever adjusted (another page,
    a box moved or shrunk into a small page); for the others, and when everything
    fits, the result is empty. Reads the PDF with pypdf, as :func:`placement_in_pdf`.
    """
    placement = placement_for(stamp)
    if not (placement.page_fallback or placement.exact):
        return ()
    try:
        reader = PdfReader(io.BytesIO(pdf))
        count = len(reader.pages)
        index = _page_index(placement, count)
        x0, y0, x1, y1 = (float(v) for v in reader.pages[index].cropbox)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise PdfInputError() from exc
    notes: list[str] = []
    wanted = placement.page + count if placement.page < 0 else placement.page
    if wanted != index:
        notes.append(
            f"Tài liệu có {count} trang, không có trang số {placement.page + 1}; "
            f"chữ ký đặt ở trang {index + 1}."
        )
    if placement.exact:
        page_w, page_h = abs(x1 - x0), abs(y1 - y0)
        margin_y = placement.margin if placement.margin_y is None else placement.margin_y
        if placement.margin + placement.width > page_w or margin_y + placement.height > page_h:
            notes.append(
                f"Ô chữ ký {_mm(placement.width)} × {_mm(placement.height)} mm cách mép "
                f"{_mm(placement.margin)} mm và {_mm(margin_y)} mm không vừa trang "
                f"{_mm(page_w)} × {_mm(page_h)} mm; đã dời và thu nhỏ cho vừa trang."
            )
    return tuple(notes)


def _mm(points: float) -> str:
    """Points as millimetres, one decimal, Vietnamese decimal comma."""
    return f"{points / MM:.1f}".replace(".", ",").removesuffix(",0")


def placement_in_pdf(stamp: StampText, pdf: bytes) -> tuple[int, Box]:
    """Return :func:`stamp_placement` for the PDF ``pdf``, read with pypdf.

    The result goes into ``SignOptions(page=…, box=…)`` so that the layout's default
    place holds whatever the caller's defaults are.
    """
    try:
        reader = PdfReader(io.BytesIO(pdf))
        pages = reader.pages

        def page_box_of(index: int) -> Box:
            x0, y0, x1, y1 = (float(v) for v in pages[index].cropbox)
            return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

        return stamp_placement(stamp, len(pages), page_box_of)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise PdfInputError() from exc


def qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """Return the modules of the QR code drawn for ``url``, rows top to bottom, True dark."""
    code: Any = segno.make_qr(url, error="m")
    return tuple(tuple(bool(module) for module in row) for row in code.matrix)


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
        font=_font_factory(font_path, lines, size),
        font_size=size,
        leading=leading,
        text_color=color,
        box_layout_rule=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MIN,
            y_align=y_align,
            margins=Margins(left=margin, right=margin, top=margin, bottom=margin),
        ),
    )


def _font_factory(font_path: Path, lines: tuple[str, ...], size: int) -> FontEngineFactory:
    """The font of a stamp's text: the prepared subset, or HarfBuzz for text it cannot draw."""
    prepared = prepared_font_for(font_path, "".join(lines))
    if prepared is not None:
        return PreparedFontFactory(font=prepared, font_size=size, lang="vi")
    return _EmbeddedFontFactory(font_file=str(font_path), font_size=size, bcp47_lang_code="vi")


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


@dataclass(frozen=True)
class _ComposedStampStyle(BaseStampStyle):
    """A stamp drawn part by part: images at the left, text, a QR code at the right."""

    lines: tuple[str, ...] = ()
    """Lines of text, NFC."""

    text_box_style: TextBoxStyle = field(default_factory=TextBoxStyle)
    """Font, size, leading and colour of the text."""

    wrap: bool = False
    """Break a line too wide for the text area at spaces instead of shrinking the text."""

    signature: Image.Image | None = field(default=None, compare=False)
    """The official's signature image, or None."""

    seal: Image.Image | None = field(default=None, compare=False)
    """The seal image covering the signature's left third, or None."""

    qr_url: str | None = None
    """Address encoded in the QR code at the right, or None."""

    def create_stamp(
        self, writer: BasePdfFileWriter, box: BoxConstraints, text_params: dict[str, Any]
    ) -> _ComposedStamp:
        if not (box.width_defined and box.height_defined):
            raise LayoutError("Chữ ký hiển thị cần một ô có kích thước xác định")
        return _ComposedStamp(writer, self, box)


class _ComposedStamp(BaseStamp):
    """The appearance of a :class:`_ComposedStampStyle` in a box of known size.

    The text is real text (one text box, the embedded font); the images and the QR
    code are XObjects named ``/ImgSignature``, ``/ImgSeal`` and ``/QR``.
    """

    style: _ComposedStampStyle

    def __init__(
        self, writer: BasePdfFileWriter, style: _ComposedStampStyle, box: BoxConstraints
    ) -> None:
        super().__init__(writer=writer, style=style, box=box)

    def _render_inner_content(self) -> list[bytes]:
        style = self.style
        width, height = float(self.box.width), float(self.box.height)
        inner = max(height - 2 * _PAD, 1.0)
        commands: list[bytes] = []
        left, right = _PAD, width - _PAD
        if style.qr_url is not None:
            side = min(inner, _QR_MAX_SIDE, max(right - left, 1.0) / 2)
            commands.append(self._draw_qr(style.qr_url, right - side, (height - side) / 2, side))
            right -= side + _PAD
        if style.signature is not None:
            left = self._draw_images(commands, left, inner, max_width=(right - left) * 0.5) + _PAD
        commands.extend(self._draw_text(left, _PAD, max(right - left, 1.0), inner))
        return commands

    def _draw_images(
        self, commands: list[bytes], left: float, inner: float, max_width: float
    ) -> float:
        """Draw the signature and the seal over its left third; return their right edge."""
        signature, seal = self.style.signature, self.style.seal
        assert signature is not None
        sig_w, sig_h = _fit(signature.size, inner * 2.0, inner * 0.8)
        seal_w, seal_h = _fit(seal.size, inner, inner) if seal is not None else (0.0, 0.0)
        overhang = max(seal_w - sig_w / 3, 0.0) if seal is not None else 0.0
        total = overhang + sig_w
        if total > max_width > 0:
            shrink = max_width / total
            sig_w, sig_h, seal_w, seal_h = (v * shrink for v in (sig_w, sig_h, seal_w, seal_h))
            overhang *= shrink
        middle = _PAD + inner / 2
        sig_x = left + overhang
        commands.append(
            self._draw_image("/ImgSignature", signature, sig_x, middle - sig_h / 2, sig_w, sig_h)
        )
        if seal is not None:
            # Decree 30/2020: the seal covers about a third of the signature, on its left
            seal_x = sig_x + sig_w / 3 - seal_w
            commands.append(
                self._draw_image("/ImgSeal", seal, seal_x, middle - seal_h / 2, seal_w, seal_h)
            )
        return sig_x + sig_w

    def _draw_image(
        self, name: str, image: Image.Image, x: float, y: float, w: float, h: float
    ) -> bytes:
        assert self.writer is not None
        self.set_resource(
            category=ResourceType.XOBJECT, name=pdf_name(name), value=pil_image(image, self.writer)
        )
        return b"q %g 0 0 %g %g %g cm %s Do Q" % (
            _r(w),
            _r(h),
            _r(x),
            _r(y),
            name.encode("ascii"),
        )

    def _draw_qr(self, url: str, x: float, y: float, side: float) -> bytes:
        """Draw the QR code of ``url`` as filled squares in a form XObject ``/QR``."""
        matrix = qr_matrix(url)
        size = len(matrix) + 2 * QR_BORDER
        ops = [b"1 g 0 0 %d %d re f 0 g" % (size, size)]
        for row_index, row in enumerate(matrix):
            y_mod = size - QR_BORDER - 1 - row_index
            col = 0
            while col < len(row):
                if not row[col]:
                    col += 1
                    continue
                start = col
                while col < len(row) and row[col]:
                    col += 1
                ops.append(b"%d %d %d 1 re" % (QR_BORDER + start, y_mod, col - start))
        ops.append(b"f")
        xobject = init_xobject_dictionary(b"\n".join(ops), size, size)
        xobject.compress()  # type: ignore[no-untyped-call]
        assert self.writer is not None
        self.set_resource(
            category=ResourceType.XOBJECT,
            name=pdf_name("/QR"),
            value=self.writer.add_object(xobject),
        )
        scale = side / size
        return b"q %g 0 0 %g %g %g cm /QR Do Q" % (_r(scale), _r(scale), _r(x), _r(y))

    def _draw_text(self, x: float, y: float, width: float, height: float) -> list[bytes]:
        """Write the lines in the area (x, y, width, height), shrunk only if they cannot fit."""
        style = self.style
        # a text box of natural size: pyHanko's own shrinking misplaces the lines
        text_box = TextBox(style.text_box_style, writer=self.writer, resources=self.resources)
        lines: list[str] = list(style.lines)
        if style.wrap:
            size = style.text_box_style.font_size
            margins = 4.0  # the text box's own left and right margins

            def measure(text: str) -> float:
                return float(text_box.font_engine.shape(text).x_advance) * size

            lines = [part for line in lines for part in _wrap(line, width - margins, measure)]
        text_box.content = "\n".join(lines)
        rendered: bytes = text_box.render()  # type: ignore[no-untyped-call]
        position = SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MIN,
            y_align=AxisAlignment.ALIGN_MID,
            inner_content_scaling=InnerScaling.SHRINK_TO_FIT,
        ).fit(BoxConstraints(width=width, height=height), text_box.box.width, text_box.box.height)
        return [
            b"q 1 0 0 1 %g %g cm" % (_r(x), _r(y)),
            position.as_cm(),  # type: ignore[no-untyped-call]
            rendered,
            b"Q",
        ]


def _wrap(line: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Break ``line`` at spaces into pieces no wider than ``width`` (a long word stays whole)."""
    words = line.split(" ")
    pieces: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and measure(candidate) > width:
            pieces.append(current)
            current = word
        else:
            current = candidate
    pieces.append(current)
    return pieces


def _fit(size: tuple[int, int], max_w: float, max_h: float) -> tuple[float, float]:
    """Scale a ``(width, height)`` in pixels to fit ``max_w`` × ``max_h``, keeping its shape."""
    w, h = max(size[0], 1), max(size[1], 1)
    scale = min(max_w / w, max_h / h)
    return (w * scale, h * scale)


def _r(value: float) -> float:
    return round(value, 3)


_PDF_GLYPH_UNITS = 1000
"""Units per em of the glyph space of PDF fonts other than Type 3."""


class _ThousandUnitGlyphAccumulator(GlyphAccumulator):
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
class _EmbeddedFontFactory(GlyphAccumulatorFactory):
    """pyHanko's glyph accumulator factory fed from the in-memory font bytes.

    The stock factory opens the font file for every stamp and never closes it;
    this one reuses the bytes read once by :func:`font_bytes`, and its engine
    measures in PDF's 1000-unit glyph space (see :class:`_ThousandUnitGlyphAccumulator`).
    """

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: Any = None
    ) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()  # type: ignore[no-untyped-call]
        return _ThousandUnitGlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(font_bytes(Path(self.font_file))),
            font_size=self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
        )
