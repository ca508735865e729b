"""Drawing a composed stamp: signature and seal images, real text, a QR code to the verify page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import pil_image
from pyhanko.pdf_utils.layout import (
    AxisAlignment,
    BoxConstraints,
    InnerScaling,
    LayoutError,
    SimpleBoxLayoutRule,
)
from pyhanko.pdf_utils.text import TextBox, TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter, init_xobject_dictionary
from pyhanko.stamp import BaseStamp, BaseStampStyle

__all__ = [
    "PAD",
    "QR_BORDER",
    "QR_MAX_SIDE",
    "ComposedStampStyle",
    "qr_matrix",
]

QR_BORDER = 2
"""Quiet zone around the verification QR code, in modules (white, drawn with it)."""

PAD = 4.0
"""Space in points between the stamp's edge and its content, and between its parts."""

QR_MAX_SIDE = 56.0
"""Largest side of the QR code in points (about 2 cm)."""


def qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """Return the modules of the QR code drawn for ``url``, rows top to bottom, True dark."""
    import segno  # only stamps with a verification address draw a QR code

    code: Any = segno.make_qr(url, error="m")
    return tuple(tuple(bool(module) for module in row) for row in code.matrix)


@dataclass(frozen=True)
class ComposedStampStyle(BaseStampStyle):
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
    """The appearance of a :class:`ComposedStampStyle` in a box of known size.

    The text is real text (one text box, the embedded font); the images and the QR
    code are XObjects named ``/ImgSignature``, ``/ImgSeal`` and ``/QR``.
    """

    style: ComposedStampStyle

    def __init__(
        self, writer: BasePdfFileWriter, style: ComposedStampStyle, box: BoxConstraints
    ) -> None:
        super().__init__(writer=writer, style=style, box=box)

    def _render_inner_content(self) -> list[bytes]:
        style = self.style
        width, height = float(self.box.width), float(self.box.height)
        inner = max(height - 2 * PAD, 1.0)
        commands: list[bytes] = []
        left, right = PAD, width - PAD
        if style.qr_url is not None:
            side = min(inner, QR_MAX_SIDE, max(right - left, 1.0) / 2)
            commands.append(self._draw_qr(style.qr_url, right - side, (height - side) / 2, side))
            right -= side + PAD
        if style.signature is not None:
            left = self._draw_images(commands, left, inner, max_width=(right - left) * 0.5) + PAD
        commands.extend(self._draw_text(left, PAD, max(right - left, 1.0), inner))
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
        middle = PAD + inner / 2
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
