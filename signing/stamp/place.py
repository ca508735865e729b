"""Where a visible stamp goes: its page and box, by layout or as configured, fitted to the page."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from signing.errors import PdfInputError, StampError
from signing.stamp.drawing import PAD, QR_MAX_SIDE

if TYPE_CHECKING:
    from signing.stamp.text import Layout, StampText


__all__ = [
    "LAYOUT_PLACEMENTS",
    "MM",
    "STAMP_HEIGHT",
    "STAMP_MARGIN",
    "STAMP_WIDTH",
    "Box",
    "Corner",
    "Placed",
    "StampPlacement",
    "clear_placement",
    "default_stamp_box",
    "placement_for",
    "placement_in_pdf",
    "plan_placement",
    "read_pages",
    "stamp_placement",
]

Box = tuple[float, float, float, float]
"""A rectangle (x0, y0, x1, y1) in PDF points."""

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]

STAMP_WIDTH = 220.0
"""Default stamp width in points."""

STAMP_HEIGHT = 70.0
"""Default stamp height in points."""

STAMP_MARGIN = 36.0
"""Default distance in points between the stamp and the page's right and bottom edges."""

MM = 72 / 25.4
"""Points in a millimetre."""

SAFE_EDGE = 3 * MM
"""Nearest a stamp moved into the margin may come to the paper's edge (printers' limit)."""

BODY_EDGE = 10 * MM
"""Nearest a stamp moved within the page's body comes to the edge before margins are used."""


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
    extra = min(default.height - 2 * PAD, QR_MAX_SIDE) + PAD
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


def plan_placement(stamp: StampText, pdf: bytes) -> tuple[Placed, tuple[str, ...]]:
    """Where ``stamp`` goes on the document ``pdf``, and how that differs from the asked place.

    A place with ``page_fallback`` or ``exact`` may be adjusted to the document (another
    page, a box moved or shrunk into a small page), and any place is left when something
    is printed there (see :func:`clear_placement`). The notes, in Vietnamese, are empty
    when the stamp goes where it was asked. Reads the PDF with pypdf; the place is the
    one signing would find (``SignOptions(placed=…)`` hands it over, so the page is read
    once).
    """
    placement = placement_for(stamp)
    reader = read_pages(pdf)
    page_box_of = partial(_page_box, reader)
    try:
        count = len(reader.pages)
        placed = clear_placement(stamp, reader, page_box_of)
        index = placed.wished_page
        x0, y0, x1, y1 = page_box_of(index)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise PdfInputError() from exc
    notes: list[str] = []
    wanted = placement.page + count if placement.page < 0 else placement.page
    if placement.page_fallback and wanted != index:
        notes.append(
            f"Tài liệu có {count} trang, không có trang số {placement.page + 1}; "
            f"chữ ký đặt ở trang {index + 1}."
        )
    if placement.exact:
        page_w, page_h = x1 - x0, y1 - y0
        margin_y = placement.margin if placement.margin_y is None else placement.margin_y
        if placement.margin + placement.width > page_w or margin_y + placement.height > page_h:
            notes.append(
                f"Ô chữ ký {_mm(placement.width)} × {_mm(placement.height)} mm cách mép "
                f"{_mm(placement.margin)} mm và {_mm(margin_y)} mm không vừa trang "
                f"{_mm(page_w)} × {_mm(page_h)} mm; đã dời và thu nhỏ cho vừa trang."
            )
    notes.extend(_clearing_notes(placed))
    return placed, tuple(notes)


def _clearing_notes(placed: Placed) -> list[str]:
    """What :func:`clear_placement` changed, in words for the dossier's history."""
    if not placed.moved:
        return []
    if placed.signature_page:
        return [
            f"Trang {placed.wished_page + 1} không còn chỗ trống cho chữ ký (kể cả thu nhỏ và "
            "đặt ở lề); đã thêm một trang ký ở cuối tài liệu."
        ]
    note = (
        f"Vị trí chữ ký dự kiến trên trang {placed.page + 1} có chữ hoặc dấu; chữ ký đặt "
        "vào chỗ trống gần nhất"
    )
    if placed.scale < 1:
        note += f", thu nhỏ còn {round(placed.scale * 100)} %"
    return [note + "."]


def _mm(points: float) -> str:
    """Points as millimetres, one decimal, Vietnamese decimal comma."""
    return f"{points / MM:.1f}".replace(".", ",").removesuffix(",0")


def _page_box(reader: PdfReader, index: int) -> Box:
    """Page ``index``'s visible area (pypdf: CropBox, else MediaBox), lower corner first."""
    x0, y0, x1, y1 = (float(v) for v in reader.pages[index].cropbox)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def read_pages(pdf: bytes) -> PdfReader:
    """Open ``pdf`` with pypdf to read its pages (PdfInputError when it cannot be read)."""
    try:
        return PdfReader(io.BytesIO(pdf))
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise PdfInputError() from exc


def placement_in_pdf(stamp: StampText, pdf: bytes) -> tuple[int, Box]:
    """Return :func:`stamp_placement` for the PDF ``pdf``, read with pypdf.

    The result goes into ``SignOptions(page=…, box=…)`` so that the layout's default
    place holds whatever the caller's defaults are.
    """
    try:
        reader = PdfReader(io.BytesIO(pdf))
        return stamp_placement(stamp, len(reader.pages), partial(_page_box, reader))
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise PdfInputError() from exc


@dataclass(frozen=True)
class Placed:
    """Where a stamp went, and how that differs from where its layout wished it."""

    page: int
    """Zero-based page index; equal to the page count when a signature page is added."""

    box: Box
    """The stamp's rectangle in points."""

    wished: Box
    """The rectangle the layout (or the procedure) asked for on the wished page."""

    wished_page: int
    """The page the layout asked for."""

    scale: float = 1.0
    """The stamp's size as a share of the wished size (1.0, or shrunk down to 0.8)."""

    signature_page: bool = False
    """No free space was large enough: a signature page is added at the end."""

    @property
    def moved(self) -> bool:
        """Whether the stamp is not where it was wished."""
        return self.signature_page or self.box != self.wished


def clear_placement(
    stamp: StampText,
    reader: PdfReader,
    page_box_of: Callable[[int], Box],
) -> Placed:
    """Place ``stamp`` on ``reader``'s document where it covers nothing printed.

    The layout's (or the procedure's) place is kept when it is free; otherwise the
    stamp goes to the nearest free space of the same page at its size, then shrunk
    (down to :data:`signing.stamp.freespace.MIN_SCALE`), then into the margin, and as
    the last resort on a signature page added at the end. An explicit ``box`` given
    by the caller is taken as is.
    """
    from signing.stamp.freespace import MIN_SCALE, free_box, page_map

    count = len(reader.pages)
    index, wished = stamp_placement(stamp, count, page_box_of)
    placed = Placed(page=index, box=wished, wished=wished, wished_page=index)
    if placement_for(stamp).box is not None:
        return placed
    page_box = page_box_of(index)
    grid = page_map(reader.pages[index], page_box)
    if not grid.overlaps(wished):
        return placed
    size = (wished[2] - wished[0], wished[3] - wished[1])
    found = free_box(grid, size, wished, edge=BODY_EDGE) or free_box(
        grid, size, wished, edge=SAFE_EDGE, scales=(1.0, MIN_SCALE)
    )
    if found is not None:
        box, scale = found
        return Placed(index, box, wished, index, scale=scale)
    _x0, _y0, x1, y1 = page_box
    width, height = size
    top = y1 - BODY_EDGE
    return Placed(
        page=count,
        box=(x1 - BODY_EDGE - width, top - height, x1 - BODY_EDGE, top),
        wished=wished,
        wished_page=index,
        signature_page=True,
    )
