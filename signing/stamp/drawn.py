"""What a born-digital page draws: the boxes of its text runs and images, in points."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pypdf import PageObject
from pypdf.generic import IndirectObject

__all__ = ["drawn_boxes", "resolved"]

Box = tuple[float, float, float, float]


def drawn_boxes(page: PageObject) -> list[Box]:
    """Boxes of the text runs and images a born-digital page draws, in points."""
    if _images_only(page):
        return _image_boxes(page)
    return _visited_boxes(page)


def _images_only(page: PageObject) -> bool:
    """Whether ``page`` can draw images only: no font, and every XObject an image."""
    resources = resolved(page.get("/Resources")) or {}
    if resources.get("/Font"):
        return False
    xobjects = resolved(resources.get("/XObject")) or {}
    return all(resolved(value).get("/Subtype") == "/Image" for value in xobjects.values())


def _image_boxes(page: PageObject) -> list[Box]:
    """Boxes of the images a page without fonts draws: its content's ``Do`` operators, under
    the ``cm`` matrices in force (saved and restored by ``q`` and ``Q``). pypdf's text
    extraction finds the same boxes, after preparing fonts and encodings a page without
    text does not need (a millisecond a page)."""
    content = page.get_contents()
    if content is None:
        return []
    boxes: list[Box] = []
    matrix: tuple[float, ...] = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    saved: list[tuple[float, ...]] = []
    for operands, operator in content.operations:
        if operator == b"q":
            saved.append(matrix)
        elif operator == b"Q" and saved:
            matrix = saved.pop()
        elif operator == b"cm" and len(operands) == 6:
            matrix = _multiply(operands, matrix)
        elif operator == b"Do":
            boxes.append(_unit_square(matrix))
    return boxes


def _visited_boxes(page: PageObject) -> list[Box]:
    """Boxes of the text runs and images ``page`` draws, found by pypdf's text extraction."""
    boxes: list[Box] = []

    def on_operator(operator: bytes, args: Any, cm: Any, tm: Any) -> None:
        if operator == b"Do":
            boxes.append(_unit_square(cm))

    def on_text(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if not text.strip() or not size:
            return
        m = _multiply(tm, cm)
        scale = math.hypot(m[0], m[1]) * float(size)
        x, y = m[4], m[5]
        # without the font's widths, half an em per character (the width of most letters)
        boxes.append((x, y - 0.25 * scale, x + 0.5 * scale * len(text), y + scale))

    page.extract_text(visitor_operand_before=on_operator, visitor_text=on_text)
    return boxes


def _unit_square(matrix: Sequence[float]) -> Box:
    """The box the unit square covers under ``matrix`` (where ``Do`` draws an image)."""
    corners = [_apply(matrix, x, y) for x, y in ((0, 0), (1, 0), (0, 1), (1, 1))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return (min(xs), min(ys), max(xs), max(ys))


def _multiply(a: Sequence[float], b: Sequence[float]) -> tuple[float, ...]:
    """The product of two PDF matrices [a b c d e f]."""
    a0, a1, a2, a3, a4, a5 = (float(v) for v in a)
    b0, b1, b2, b3, b4, b5 = (float(v) for v in b)
    return (
        a0 * b0 + a1 * b2,
        a0 * b1 + a1 * b3,
        a2 * b0 + a3 * b2,
        a2 * b1 + a3 * b3,
        a4 * b0 + a5 * b2 + b4,
        a4 * b1 + a5 * b3 + b5,
    )


def _apply(m: Sequence[float], x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = (float(v) for v in m)
    return (a * x + c * y + e, b * x + d * y + f)


def resolved(value: Any) -> Any:
    """``value``, or the object it refers to when it is an indirect reference."""
    return value.get_object() if isinstance(value, IndirectObject) else value
