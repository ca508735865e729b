"""Scan files as given: refused when missing or empty, told apart, named in the clerk's errors."""

from __future__ import annotations

from pathlib import Path

from digitize.errors import BadInputError

__all__ = ["check_file", "damaged", "display_name", "is_pdf", "unsupported"]

_PDF_MAGIC = b"%PDF-"


def display_name(path: Path) -> str:
    """The file name as shown to the clerk."""
    return path.name


def check_file(path: Path) -> None:
    """Refuse a missing or empty input."""
    if not path.is_file():
        raise BadInputError(f"Không tìm thấy tệp '{display_name(path)}'")
    if path.stat().st_size == 0:
        raise BadInputError(f"Tệp '{display_name(path)}' rỗng (0 byte)")


def is_pdf(path: Path) -> bool:
    """Whether the file starts like a PDF (a little leading junk is tolerated)."""
    with path.open("rb") as handle:
        return _PDF_MAGIC in handle.read(1024)


def unsupported(path: Path) -> BadInputError:
    """The error for a file that is not a scan we take."""
    return BadInputError(
        f"Tệp '{display_name(path)}' không phải ảnh quét hoặc PDF ảnh được hỗ trợ "
        "(chỉ nhận JPEG, PNG, TIFF hoặc PDF chỉ chứa ảnh)"
    )


def damaged(path: Path, detail: object) -> BadInputError:
    """The error for a file of a supported kind that cannot be decoded."""
    return BadInputError(
        f"Tệp '{display_name(path)}' bị hỏng hoặc không đọc được", detail=f"{type(detail).__name__}"
    )
