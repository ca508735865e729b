"""Loading scans (JPEG, PNG, TIFF, image-only PDF) and writing normalised page images."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from core.files import atomic_path
from digitize.errors import BadInputError
from digitize.pdf_pages import open_pdf, pdf_pages
from digitize.pixels import normalise_mode, square_pixels
from digitize.scan_files import check_file, damaged, display_name, is_pdf, unsupported

__all__ = [
    "DEFAULT_DPI",
    "PageImage",
    "count_pages",
    "iter_split_file",
    "load_page_image",
    "split_file",
    "split_pages",
    "write_page_image",
]

DEFAULT_DPI = 300
"""Resolution assumed for an image that does not record a plausible one."""

_DPI_RANGE = (50, 2400)
"""Recorded resolutions outside this range are treated as absent."""

_RASTER_FORMATS = ("JPEG", "PNG", "TIFF")
"""Pillow formats accepted as scans (a camera JPEG may open as format "MPO")."""

_EXIF_ORIENTATION = 0x0112
"""EXIF tag of the camera's orientation (1: as stored)."""


@dataclass(frozen=True)
class PageImage:
    path: Path
    """Normalised page image written by :func:`split_pages` (:func:`write_page_image`)."""

    dpi: int
    """Resolution in dots per inch, the same on both axes."""

    width: int
    """Width in pixels."""

    height: int
    """Height in pixels."""

    mode: str
    """Pillow mode of the page image: "1", "L" or "RGB"."""

    encoded: Path | None = None
    """The same image already compressed for the PDF
    (:func:`digitize.compression.write_encoded`), when a worker did it beside the OCR."""


def load_page_image(path: Path) -> Image.Image:
    """Decode a page image file written by :func:`write_page_image` (or linked by it).

    Pages may be large scans, so Pillow's decompression-bomb warning is silenced
    (its error, for absurd sizes, is not). Raises OSError, ValueError or
    ``Image.DecompressionBombError``; callers say in their own words what failed.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(path)
        image.load()
    return image


def split_pages(inputs: Sequence[Path], workdir: Path) -> list[PageImage]:
    """Decode the scans in ``inputs`` (in the order given) into one image file per page.

    Pages land in ``workdir/pages/0001.tif`` (``.png`` for a PNG kept as it is) and so on,
    decoded one at a time so memory stays flat however many pages come in.
    Raises :class:`BadInputError` naming the file when an input is missing, empty,
    unreadable, of an unsupported kind, or a PDF that is not image-only.
    """
    if not inputs:
        raise BadInputError("Không có tệp nào để số hóa")
    pages: list[PageImage] = []
    for path in inputs:
        pages.extend(split_file(Path(path), workdir, first=len(pages) + 1))
    return pages


def split_file(path: Path, workdir: Path, *, first: int = 1) -> list[PageImage]:
    """Decode one scan file into page images numbered from ``first``, as :func:`split_pages`.

    Files of one document can so be split in parallel, each told where its pages
    start (see :func:`count_pages`).
    """
    pages: list[PageImage] = []
    for page, image in iter_split_file(path, workdir, first=first):
        pages.append(page)
        image.close()
    return pages


def iter_split_file(
    path: Path, workdir: Path, *, first: int = 1
) -> Iterator[tuple[PageImage, Image.Image]]:
    """Split one scan file as :func:`split_file` does, yielding each page with its pixels.

    The caller may look at the decoded page (the quality gate does) before the next
    one is decoded, and should close it. A PNG page that needs no change (its mode
    kept, no EXIF turn, square pixels) is linked or copied as it is, not re-encoded.
    """
    pages_dir = workdir / "pages"
    pages_dir.mkdir(parents=True, exist_ok=True)
    number = first
    for image, dpi, as_is in _decoded_pages(path):
        source = path if as_is else None
        yield write_page_image(image, dpi, pages_dir / f"{number:04d}", source=source), image
        number += 1


def count_pages(inputs: Sequence[Path]) -> int:
    """Count the pages in ``inputs`` from headers only, without decoding pixels."""
    total = 0
    for path in map(Path, inputs):
        check_file(path)
        if is_pdf(path):
            total += len(open_pdf(path).pages)
            continue
        with _open_raster(path) as image:
            total += _frame_count(image)
    return total


def _decoded_pages(path: Path) -> Iterator[tuple[Image.Image, int, bool]]:
    """Yield each page of one input as a normalised image, its resolution, and whether the
    file itself holds exactly that image as a PNG (so it can be kept as it is)."""
    check_file(path)
    if is_pdf(path):
        for image, dpi in pdf_pages(path):
            yield image, dpi, False
    else:
        yield from _raster_pages(path)


def _open_raster(path: Path) -> Image.Image:
    """Open a raster scan lazily (header only), refusing other kinds of file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path, formats=_RASTER_FORMATS)
    except UnidentifiedImageError:
        raise unsupported(path) from None
    except Image.DecompressionBombError:
        raise BadInputError(f"Ảnh trong tệp '{display_name(path)}' quá lớn để xử lý") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise damaged(path, exc) from None


def _frame_count(image: Image.Image) -> int:
    """Pages in a raster file: every frame of a TIFF, only the first of anything else.

    (A camera JPEG opened as MPO carries previews, an animated PNG extra frames.)
    """
    return int(getattr(image, "n_frames", 1)) if image.format == "TIFF" else 1


def _raster_pages(path: Path) -> Iterator[tuple[Image.Image, int, bool]]:
    """Yield the frames of a JPEG, PNG or (multi-page) TIFF, one decoded at a time."""
    with _open_raster(path) as image:
        for index in range(_frame_count(image)):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    image.seek(index)
                    image.load()
                    dpi = _recorded_dpi(image.info.get("dpi"))
                    # A PNG has one frame: it needs no copy to survive the next seek.
                    single = image.format == "PNG"
                    turned = image.getexif().get(_EXIF_ORIENTATION, 1) not in (0, 1)
                    page = normalise_mode(
                        image if single and not turned else ImageOps.exif_transpose(image)
                    )
            except Image.DecompressionBombError:
                raise BadInputError(
                    f"Ảnh trong tệp '{display_name(path)}' quá lớn để xử lý"
                ) from None
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise damaged(path, exc) from None
            square, resolution = square_pixels(page, dpi)
            as_is = single and square is image and page.mode in {"L", "RGB"}
            yield square, resolution, as_is


def _recorded_dpi(value: object) -> tuple[float, float]:
    """The resolution a file records, or the default when absent or implausible."""
    if isinstance(value, tuple) and len(value) == 2:
        try:
            x, y = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            return float(DEFAULT_DPI), float(DEFAULT_DPI)
        low, high = _DPI_RANGE
        if low <= x <= high and low <= y <= high:
            return x, y
    return float(DEFAULT_DPI), float(DEFAULT_DPI)


def write_page_image(
    image: Image.Image, dpi: int, base: Path, *, source: Path | None = None
) -> PageImage:
    """Write one working page image atomically beside ``base`` and describe it.

    Bilevel pages become TIFF with CCITT G4, others TIFF with PackBits: lossless
    and about ten times cheaper to write than PNG, for a file that only lives until
    the document is assembled (the PDF keeps its own compressed copy). ``source``
    is a PNG file holding exactly this image: it is hard-linked (or copied) instead.
    """
    bilevel = image.mode == "1"
    path = base.with_suffix(".png" if source is not None and not bilevel else ".tif")
    with atomic_path(path, durable=False) as temp:  # a working file: a retry rebuilds it
        if source is not None and not bilevel:
            try:
                os.link(source, temp)
            except OSError:
                shutil.copyfile(source, temp)
        else:
            compression = "group4" if bilevel else "packbits"
            image.save(temp, format="TIFF", compression=compression, dpi=(dpi, dpi))
    return PageImage(path=path, dpi=dpi, width=image.width, height=image.height, mode=image.mode)
