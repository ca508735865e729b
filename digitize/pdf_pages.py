"""Image-only PDF scans: opening the PDF and taking out each page's scanned image."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

from PIL import Image
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, PyPdfError
from pypdf.generic import DictionaryObject, PdfObject, StreamObject

from digitize.errors import BadInputError
from digitize.pixels import normalise_mode, square_pixels
from digitize.scan_files import damaged, display_name

__all__ = ["open_pdf", "pdf_pages"]


def open_pdf(path: Path) -> PdfReader:
    """Open a PDF for reading, decrypting it only when no password is needed."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise BadInputError(f"Tệp '{display_name(path)}' được bảo vệ bằng mật khẩu")
        if len(reader.pages) == 0:
            raise BadInputError(f"Tệp '{display_name(path)}' không có trang nào")
    except BadInputError:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise damaged(path, exc) from None
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


def pdf_pages(path: Path) -> Iterator[tuple[Image.Image, int]]:
    """Yield the scanned image of each page of an image-only PDF, one page at a time.

    A page with several images contributes its largest one; the resolution comes
    from the image size against the page's MediaBox (the scan fills the page).
    """
    reader = open_pdf(path)
    for number, page in enumerate(reader.pages, start=1):
        try:
            resources = page.get("/Resources")
            if _has_fonts(resources):
                raise BadInputError(
                    f"Tệp '{display_name(path)}' trang {number} đã có chữ hoặc phông chữ; "
                    "chỉ nhận PDF chỉ chứa ảnh quét"
                )
            keys = page.images.keys()
            if not keys:
                raise BadInputError(f"Tệp '{display_name(path)}' trang {number} không có ảnh quét")
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
                raise BadInputError(f"Tệp '{display_name(path)}' trang {number} không có ảnh quét")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                decoded.load()
            image = normalise_mode(_rotate(decoded, page.rotation))
            width_pt = float(page.mediabox.width) * float(page.user_unit)
            height_pt = float(page.mediabox.height) * float(page.user_unit)
        except BadInputError:
            raise
        except Image.DecompressionBombError:
            raise BadInputError(f"Ảnh trong tệp '{display_name(path)}' quá lớn để xử lý") from None
        except DependencyError as exc:
            raise BadInputError(
                f"Tệp '{display_name(path)}' trang {number} dùng kiểu nén ảnh chưa được hỗ trợ "
                "trên máy xử lý",
                detail=str(exc)[:200],
            ) from None
        except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise damaged(path, exc) from None
        if page.rotation % 180:
            width_pt, height_pt = height_pt, width_pt
        if width_pt <= 0 or height_pt <= 0:
            raise damaged(path, ValueError("empty MediaBox"))
        dpi = (image.width * 72 / width_pt, image.height * 72 / height_pt)
        yield square_pixels(image, dpi)


def _rotate(image: Image.Image, rotation: int) -> Image.Image:
    """Turn an image clockwise by a page's /Rotate angle."""
    turns = {
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }
    transpose = turns.get(rotation % 360)
    return image if transpose is None else image.transpose(transpose)
