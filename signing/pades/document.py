"""The document being signed: opened for an incremental update, its fields, pages and boxes."""

from __future__ import annotations

import io

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError, PdfStrictReadError
from pyhanko.pdf_utils.rw_common import find_inherited_value_in_tree
from pyhanko.sign.fields import enumerate_sig_fields

from signing.errors import PdfInputError, SigningError
from signing.pades.evidence import MetadataKeepingWriter


def open_for_update(data: bytes) -> IncrementalPdfFileWriter:
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise PdfInputError("Tệp không phải là tài liệu PDF")
    try:
        try:
            writer = MetadataKeepingWriter(io.BytesIO(data), strict=True)
        except PdfStrictReadError:
            # hybrid-reference and slightly malformed files need the lenient reader
            writer = MetadataKeepingWriter(io.BytesIO(data), strict=False)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise PdfInputError() from exc
    if writer.prev.encrypted:
        raise PdfInputError("Tài liệu PDF được mã hóa, không ký được")
    return writer


def check_field_free(writer: IncrementalPdfFileWriter, field_name: str) -> None:
    try:
        filled = list(enumerate_sig_fields(writer, filled_status=True, with_name=field_name))
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise PdfInputError("Không đọc được các trường biểu mẫu của tài liệu PDF") from exc
    if filled:
        raise SigningError(f"Trường chữ ký “{field_name}” của tài liệu đã được ký")


def has_signatures(writer: IncrementalPdfFileWriter) -> bool:
    return any(True for _ in enumerate_sig_fields(writer, filled_status=True))


def page_count(writer: IncrementalPdfFileWriter) -> int:
    pages = writer.root["/Pages"]
    assert isinstance(pages, generic.DictionaryObject)
    return int(pages["/Count"])


def page_index(writer: IncrementalPdfFileWriter, page: int) -> int:
    count = page_count(writer)
    index = page + count if page < 0 else page
    if not 0 <= index < count:
        raise SigningError(f"Tài liệu có {count} trang, không có trang số {page + 1}")
    return index


def page_box(writer: IncrementalPdfFileWriter, page: int) -> tuple[float, float, float, float]:
    # these two pyHanko helpers have no annotations
    page_ref, _resources = writer.find_page_for_modification(page)  # type: ignore[no-untyped-call]
    page_obj = page_ref.get_object()
    box = find_inherited_value_in_tree(page_obj, "/CropBox", "/Parent")  # type: ignore[no-untyped-call]
    if box is None:
        box = find_inherited_value_in_tree(page_obj, "/MediaBox", "/Parent")  # type: ignore[no-untyped-call]
    if box is None:
        raise PdfInputError(f"Trang {page + 1} của tài liệu PDF không có kích thước (MediaBox)")
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def int_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (round(v) for v in box)
    return (x0, y0, x1, y1)


def add_signature_page(
    writer: IncrementalPdfFileWriter, page_box: tuple[float, float, float, float]
) -> int:
    """Append an empty page of ``page_box``'s size, for a stamp that fits nowhere else.

    It is added in the signature's own revision, so the signed bytes of the
    document before it stay as they were; returns the new page's index.
    """
    x0, y0, x1, y1 = page_box
    # pyHanko's PDF object constructors have no annotations
    box = generic.ArrayObject(
        generic.FloatObject(v)  # type: ignore[no-untyped-call]
        for v in (0, 0, x1 - x0, y1 - y0)
    )
    page = generic.DictionaryObject(  # type: ignore[no-untyped-call]
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): box,
            generic.NameObject("/Resources"): generic.DictionaryObject(),  # type: ignore[no-untyped-call]
        }
    )
    writer.insert_page(page)  # type: ignore[no-untyped-call]
    return page_count(writer) - 1
