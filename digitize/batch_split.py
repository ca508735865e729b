"""Splitting a scanned stack (a batch PDF or multi-page TIFF) at its cover and separator sheets."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from PIL import Image
from pypdf import PdfWriter

from core.files import atomic_path, atomic_write
from digitize.errors import BadInputError
from digitize.pages import iter_split_file
from digitize.pdf_pages import open_pdf, pdf_pages
from digitize.scan_files import check_file, display_name, is_pdf
from digitize.sheets import read_qr_codes

__all__ = ["BatchPart", "BatchSplit", "Classify", "split_batch"]

S = TypeVar("S")

Classify = Callable[[Sequence[str]], S | None]
"""Tells what the QR codes of one page make of it: a sheet (whatever the caller makes of
a receipt or a separator) or None for an ordinary page."""


@dataclass(frozen=True)
class BatchPart(Generic[S]):
    sheet: S | None
    """The sheet that opened this part; None for the pages before the first sheet."""

    sheet_page: int | None
    """The sheet's page number in the stack (1 for the first page), None without one."""

    pages: tuple[int, ...]
    """The stack's page numbers in this part, in order; the sheet itself is left out."""

    folder: Path
    """The folder holding the part's pages: one PDF (a PDF stack) or a TIFF a page."""


@dataclass(frozen=True)
class BatchSplit(Generic[S]):
    page_count: int
    """Pages in the stack, sheets included."""

    parts: tuple[BatchPart[S], ...]
    """The parts with at least one page, in the stack's order."""

    sheet_pages: tuple[int, ...] = field(default=())
    """The page numbers recognised as sheets (left out of every part)."""


def _sheets(images: Iterator[Image.Image], classify: Classify[S]) -> Iterator[S | None]:
    for image in images:
        try:
            yield classify(read_qr_codes(image))
        finally:
            image.close()


def _group(marks: Sequence[S | None]) -> list[tuple[S | None, int | None, list[int]]]:
    """Group 1-based page numbers under the sheet before them."""
    groups: list[tuple[S | None, int | None, list[int]]] = [(None, None, [])]
    for number, mark in enumerate(marks, start=1):
        if mark is not None:
            groups.append((mark, number, []))
        else:
            groups[-1][2].append(number)
    return [g for g in groups if g[2]]


def _pdf_parts(path: Path, out_dir: Path, classify: Classify[S]) -> BatchSplit[S]:
    marks = list(_sheets((image for image, _dpi in pdf_pages(path)), classify))
    reader = open_pdf(path)
    parts: list[BatchPart[S]] = []
    for index, (sheet, sheet_page, numbers) in enumerate(_group(marks), start=1):
        writer = PdfWriter()
        for number in numbers:
            writer.add_page(reader.pages[number - 1])
        target = out_dir / f"{index:03d}" / f"{path.stem}-{numbers[0]:04d}-{numbers[-1]:04d}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(target) as handle:
            writer.write(handle)
        parts.append(BatchPart(sheet, sheet_page, tuple(numbers), target.parent))
    return BatchSplit(len(marks), tuple(parts), tuple(_marked(marks)))


def _marked(marks: Sequence[object | None]) -> list[int]:
    return [n for n, mark in enumerate(marks, start=1) if mark is not None]


def _raster_parts(path: Path, out_dir: Path, classify: Classify[S]) -> BatchSplit[S]:
    work = out_dir / "trang"
    marks: list[S | None] = []
    files: list[Path] = []
    for page, image in iter_split_file(path, work):
        files.append(page.path)
        marks.extend(_sheets(iter([image]), classify))
    parts: list[BatchPart[S]] = []
    for index, (sheet, sheet_page, numbers) in enumerate(_group(marks), start=1):
        folder = out_dir / f"{index:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for number in numbers:
            source = files[number - 1]
            with atomic_path(folder / f"{path.stem}-{number:04d}{source.suffix}") as temp:
                source.rename(temp)
        parts.append(BatchPart(sheet, sheet_page, tuple(numbers), folder))
    for number in _marked(marks):
        files[number - 1].unlink(missing_ok=True)  # a sheet's page image: not a scan kept
    work.joinpath("pages").rmdir()
    work.rmdir()
    return BatchSplit(len(marks), tuple(parts), tuple(_marked(marks)))


def split_batch(path: Path, out_dir: Path, classify: Classify[S]) -> BatchSplit[S]:
    """Split the stack at ``path`` into parts under ``out_dir`` (``001/``, ``002/`` …).

    Each page's QR codes are read (:func:`digitize.sheets.read_qr_codes`) and given to
    ``classify``; a page it names a sheet starts a new part and is itself left out. A
    PDF stack's pages are copied into one PDF a part, as scanned (no re-encoding); a
    TIFF stack's become one TIFF a page. Running it again over the same ``out_dir``
    writes the same parts (a claim resumed after a crash). Raises
    :class:`BadInputError` for a stack that cannot be read, or that has no pages.
    """
    check_file(path)
    split = (_pdf_parts if is_pdf(path) else _raster_parts)(path, out_dir, classify)
    if split.page_count == 0:
        raise BadInputError(f"Tệp '{display_name(path)}' không có trang nào")
    return split
