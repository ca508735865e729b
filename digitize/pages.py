"""Loading scans (JPEG, PNG, TIFF, image-only PDF) and writing normalised page images."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, PyPdfError
from pypdf.generic import DictionaryObject, PdfObject, StreamObject

from digitize.errors import BadInputError

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

_PDF_MAGIC = b"%PDF-"

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
        _check_file(path)
        if _is_pdf(path):
            total += len(_open_pdf(path).pages)
            continue
        with _open_raster(path) as image:
            total += _frame_count(image)
    return total


def _name(path: Path) -> str:
    """The file name as shown to the clerk."""
    return path.name


def _check_file(path: Path) -> None:
    """Refuse a missing or empty input."""
    if not path.is_file():
        raise BadInputError(f"Không tìm thấy tệp '{_name(path)}'")
    if path.stat().st_size == 0:
        raise BadInputError(f"Tệp '{_name(path)}' rỗng (0 byte)")


def _is_pdf(path: Path) -> bool:
    """Whether the file starts like a PDF (a little leading junk is tolerated)."""
    with path.open("rb") as handle:
        return _PDF_MAGIC in handle.read(1024)


def _unsupported(path: Path) -> BadInputError:
    """The error for a file that is not a scan we take."""
    return BadInputError(
        f"Tệp '{_name(path)}' không phải ảnh quét hoặc PDF ảnh được hỗ trợ "
        "(chỉ nhận JPEG, PNG, TIFF hoặc PDF chỉ chứa ảnh)"
    )


def _damaged(path: Path, detail: object) -> BadInputError:
    """The error for a file of a supported kind that cannot be decoded."""
    return BadInputError(
        f"Tệp '{_name(path)}' bị hỏng hoặc không đọc được", detail=f"{type(detail).__name__}"
    )


def _decoded_pages(path: Path) -> Iterator[tuple[Image.Image, int, bool]]:
    """Yield each page of one input as a normalised image, its resolution, and whether the
    file itself holds exactly that image as a PNG (so it can be kept as it is)."""
    _check_file(path)
    if _is_pdf(path):
        for image, dpi in _pdf_pages(path):
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
        raise _unsupported(path) from None
    except Image.DecompressionBombError:
        raise BadInputError(f"Ảnh trong tệp '{_name(path)}' quá lớn để xử lý") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _damaged(path, exc) from None


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
                    page = _normalise_mode(
                        image if single and not turned else ImageOps.exif_transpose(image)
                    )
            except Image.DecompressionBombError:
                raise BadInputError(f"Ảnh trong tệp '{_name(path)}' quá lớn để xử lý") from None
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise _damaged(path, exc) from None
            square, resolution = _square_pixels(page, dpi)
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


def _square_pixels(image: Image.Image, dpi: tuple[float, float]) -> tuple[Image.Image, int]:
    """Resample an image whose axes differ in resolution so that both use the larger one."""
    x, y = dpi
    if abs(x - y) <= 0.01 * max(x, y):
        return image, max(1, round((x + y) / 2))
    target = max(x, y)
    size = (round(image.width * target / x), round(image.height * target / y))
    resample = Image.Resampling.NEAREST if image.mode == "1" else Image.Resampling.LANCZOS
    resized = image.resize(size, resample)
    image.close()
    return resized, max(1, round(target))


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite an image with transparency onto white."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _normalise_mode(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to "1", "L" or "RGB" without losing the picture."""
    mode = image.mode
    if mode in {"1", "L", "RGB"}:
        return image
    if mode in {"LA", "La"}:
        return _flatten_alpha(image).convert("L")
    if mode in {"RGBA", "RGBa", "PA"} or (mode == "P" and "transparency" in image.info):
        return _flatten_alpha(image)
    if mode == "P":
        rgb = image.convert("RGB")
        palette = image.getpalette() or []
        grey = all(
            palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3)
        )
        return rgb.convert("L") if grey else rgb
    if mode.startswith("I;16") or mode in {"I", "F"}:
        return _to_eight_bit(image)
    return image.convert("RGB")


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """Scale a 16-bit, 32-bit integer or float grey image to 8 bits."""
    wide = image.convert("F")
    if image.mode.startswith("I;16"):
        top = 65535.0
    else:
        low, high = cast(tuple[float, float], wide.getextrema())  # one band: (min, max)
        top = high if high > 255 or low < 0 else 255.0
    scale = 255.0 / top if top > 0 else 1.0
    return wide.point(lambda v: v * scale + 0.5).convert("L")  # + 0.5: round, not truncate


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
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if source is not None and not bilevel:
            try:
                os.link(source, temp)
            except OSError:
                shutil.copyfile(source, temp)
        else:
            compression = "group4" if bilevel else "packbits"
            image.save(temp, format="TIFF", compression=compression, dpi=(dpi, dpi))
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return PageImage(path=path, dpi=dpi, width=image.width, height=image.height, mode=image.mode)


def _open_pdf(path: Path) -> PdfReader:
    """Open a PDF for reading, decrypting it only when no password is needed."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise BadInputError(f"Tệp '{_name(path)}' được bảo vệ bằng mật khẩu")
        if len(reader.pages) == 0:
            raise BadInputError(f"Tệp '{_name(path)}' không có trang nào")
    except BadInputError:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _damaged(path, exc) from None
    return reader


def _has_fonts(resources: object, seen: set[int] | None = None) -> bool:
    """Whether a resource dictionary, or any form XObject inside it, declares fonts."""
    seen = set() if seen is None else seen
    resolved = resources.get_object() if isinstance(resources, PdfObject) else resources
    if not isinstance(resolved, DictionaryObject) or id(resolved) in seen:
        return False
    seen.add(id(resolved))
    fonts = resolved.get("/Font")
    fonts = fonts.get_object() if fonts is not None else None
    if isinstance(fonts, DictionaryObject) and len(fonts) > 0:
        return True
    for ref in _xobjects(resolved).values():
        xobject = ref.get_object()
        if (
            isinstance(xobject, StreamObject)
            and xobject.get("/Subtype") == "/Form"
            and _has_fonts(xobject.get("/Resources"), seen)
        ):
            return True
    return False


def _xobjects(resources: object) -> DictionaryObject:
    """The /XObject dictionary of a resource dictionary (empty when there is none)."""
    resolved = resources.get_object() if isinstance(resources, PdfObject) else resources
    if not isinstance(resolved, DictionaryObject):
        return DictionaryObject()
    xobjects = resolved.get("/XObject")
    xobjects = xobjects.get_object() if xobjects is not None else None
    return xobjects if isinstance(xobjects, DictionaryObject) else DictionaryObject()


def _image_area(resources: object, key: str | list[str]) -> int:
    """Pixel area of an image XObject named by a pypdf image key, without decoding it."""
    names = [key] if isinstance(key, str) else list(key)
    for name in names[:-1]:
        form = _xobjects(resources)[name].get_object()
        resources = form.get("/Resources") if isinstance(form, DictionaryObject) else None
    image = _xobjects(resources)[names[-1]].get_object()
    if not isinstance(image, DictionaryObject):
        return 0
    return int(image.get("/Width", 0)) * int(image.get("/Height", 0))


def _pdf_pages(path: Path) -> Iterator[tuple[Image.Image, int]]:
    """Yield the scanned image of each page of an image-only PDF, one page at a time.

    A page with several images contributes its largest one; the resolution comes
    from the image size against the page's MediaBox (the scan fills the page).
    """
    reader = _open_pdf(path)
    for number, page in enumerate(reader.pages, start=1):
        try:
            resources = page.get("/Resources")
            if _has_fonts(resources):
                raise BadInputError(
                    f"Tệp '{_name(path)}' trang {number} đã có chữ hoặc phông chữ; "
                    "chỉ nhận PDF chỉ chứa ảnh quét"
                )
            keys = page.images.keys()
            if not keys:
                raise BadInputError(f"Tệp '{_name(path)}' trang {number} không có ảnh quét")
            inline = [k for k in keys if isinstance(k, str) and k.startswith("~")]
            named = [k for k in keys if k not in inline]
            if named:
                key = max(named, key=lambda k: _image_area(resources, k))
                decoded = page.images[key].image
            else:
                candidates = [page.images[k].image for k in inline]
                decoded = max(
                    (c for c in candidates if c is not None),
                    key=lambda c: c.width * c.height,
                    default=None,
                )
            if decoded is None:
                raise BadInputError(f"Tệp '{_name(path)}' trang {number} không có ảnh quét")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                decoded.load()
            image = _normalise_mode(_rotate(decoded, page.rotation))
            width_pt = float(page.mediabox.width) * float(page.user_unit)
            height_pt = float(page.mediabox.height) * float(page.user_unit)
        except BadInputError:
            raise
        except Image.DecompressionBombError:
            raise BadInputError(f"Ảnh trong tệp '{_name(path)}' quá lớn để xử lý") from None
        except DependencyError as exc:
            raise BadInputError(
                f"Tệp '{_name(path)}' trang {number} dùng kiểu nén ảnh chưa được hỗ trợ "
                "trên máy xử lý",
                detail=str(exc)[:200],
            ) from None
        except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _damaged(path, exc) from None
        if page.rotation % 180:
            width_pt, height_pt = height_pt, width_pt
        if width_pt <= 0 or height_pt <= 0:
            raise _damaged(path, ValueError("empty MediaBox"))
        dpi = (image.width * 72 / width_pt, image.height * 72 / height_pt)
        yield _square_pixels(image, dpi)


def _rotate(image: Image.Image, rotation: int) -> Image.Image:
    """Turn an image clockwise by a page's /Rotate angle."""
    turns = {
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }
    transpose = turns.get(rotation % 360)
    return image if transpose is None else image.transpose(transpose)
