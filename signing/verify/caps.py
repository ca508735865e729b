"""Caps checked before pyHanko reads a PDF: signatures, fields, revisions, objects, nesting."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import Literal

from pypdf import PdfReader
from pypdf.errors import LimitReachedError
from pypdf.generic import DictionaryObject, IndirectObject, PdfObject

__all__ = ["DEFAULT_CAPS", "NOT_PDF_VI", "TOO_COMPLEX_VI", "Screening", "VerifyCaps", "screen_pdf"]

logger = logging.getLogger(__name__)

NOT_PDF_VI = "Tệp không phải là tài liệu PDF đọc được"
"""What the citizen reads about a file that is not a PDF or that no reader can open."""

TOO_COMPLEX_VI = "Từ chối kiểm tra: Tài liệu có cấu trúc quá phức tạp hoặc dữ liệu nén bất thường."
"""What the citizen reads when a reader gives up on a limit (decompression, nesting, memory)."""


@dataclass(frozen=True)
class VerifyCaps:
    max_signatures: int = 20
    """Filled signature fields (signatures and document timestamps) a document may hold."""

    max_fields: int = 1000
    """Form fields of any kind, counted while looking for the signature fields."""

    max_field_depth: int = 16
    """How deep the tree of form fields (``/Kids``) may go."""

    max_revisions: int = 50
    """Revisions (the original and each incremental update, one ``startxref`` each)."""

    max_objects: int = 200_000
    """Object numbers a document may declare (``/Size``) or hold (``obj`` headers)."""


DEFAULT_CAPS = VerifyCaps()
"""The caps of the public verification page and of ``motcua verify``."""


@dataclass(frozen=True)
class Screening:
    problem: Literal["", "not_pdf", "refused"]
    """Empty when pyHanko may read the document; else why it must not."""

    reason_vi: str = ""
    """A Vietnamese sentence saying why, for the citizen; empty when nothing is wrong."""

    @property
    def passed(self) -> bool:
        """True when nothing stops the full verification."""
        return not self.problem


_PASSED = Screening("")

_TAIL_BYTES = 1024 * 1024
"""Where the last ``startxref`` must be, from the end: readers search backwards for it, and
slowly across a long last line."""

_WS = rb"[\x00\t\n\f\r ]"
_OBJ_HEADER = re.compile(rb"(?<![0-9])[0-9]{1,10}" + _WS + rb"{1,8}[0-9]{1,5}" + _WS + rb"{1,8}obj")
"""An indirect object's header; bounded repeats, so a file of digits stays linear."""

_SIZE = re.compile(rb"/Size" + _WS + rb"{0,8}([0-9]{1,12})")
"""The ``/Size`` of a trailer or cross-reference stream: how many object numbers it uses."""


def screen_pdf(data: bytes, caps: VerifyCaps = DEFAULT_CAPS) -> Screening:
    """Decide cheaply whether ``data`` may go to pyHanko, before any of its costly work.

    Counts revisions and objects in the raw bytes, then walks the form fields with
    pypdf (which caps what it decompresses) counting signatures, and refuses a
    signature dictionary used by two fields: pyHanko would validate it again for
    each (the amplification of hostile files). Never raises.
    """
    if data.find(b"%PDF-", 0, 1024) < 0 or data.find(b"startxref", -_TAIL_BYTES) < 0:
        return Screening("not_pdf", NOT_PDF_VI)  # no header, or cut short (no trailer)
    revisions = data.count(b"startxref")
    if revisions > caps.max_revisions:
        return _refused(
            f"Tài liệu có {revisions} lần cập nhật (tối đa {caps.max_revisions}), "
            "quá nhiều để kiểm tra."
        )
    declared = max((int(m.group(1)) for m in _SIZE.finditer(data)), default=0)
    if declared > caps.max_objects or _more_headers_than(data, caps.max_objects):
        return _refused(
            f"Tài liệu có quá nhiều đối tượng (tối đa {_vi_number(caps.max_objects)}) để kiểm tra."
        )
    for strict in (True, False):  # strict skips checking every object's header first
        try:
            return _screen_fields(data, caps, strict=strict)
        except Exception as exc:  # any parser failure: too much for a reader, or unreadable
            if _exhausted(exc):
                return Screening("refused", TOO_COMPLEX_VI)
            # the exception's kind only: its message may quote bytes of the document
            logger.info("verify: pypdf (strict=%s) could not read it: %s", strict, type(exc))
    return Screening("not_pdf", NOT_PDF_VI)


def _exhausted(exc: BaseException | None) -> bool:
    """Tell whether a reader gave up on a limit: decompression, recursion or memory."""
    for _ in range(8):  # pypdf wraps the cause once or twice
        if exc is None:
            return False
        if isinstance(exc, LimitReachedError | MemoryError | RecursionError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _refused(reason_vi: str) -> Screening:
    return Screening("refused", f"Từ chối kiểm tra: {reason_vi}")


def _vi_number(number: int) -> str:
    """A number as Vietnamese write it, with dots between thousands."""
    return f"{number:,}".replace(",", ".")


def _more_headers_than(data: bytes, cap: int) -> bool:
    """Count object headers, only where ``obj`` alone occurs more than ``cap`` times."""
    if data.count(b"obj") <= cap:  # each header ends in one (and each "endobj" in another)
        return False
    return any(count > cap for count, _ in enumerate(_OBJ_HEADER.finditer(data), start=1))


def _screen_fields(data: bytes, caps: VerifyCaps, *, strict: bool) -> Screening:
    """Walk the AcroForm's field tree (iteratively, each object once) within the caps."""
    reader = PdfReader(io.BytesIO(data), strict=strict)
    root = _resolved(reader.trailer.get("/Root"))
    form = _resolved(root.get("/AcroForm")) if isinstance(root, DictionaryObject) else None
    fields = _resolved(form.get("/Fields")) if isinstance(form, DictionaryObject) else None
    if not isinstance(fields, list):
        return _PASSED
    stack: list[tuple[PdfObject, int, bool]] = [(f, 1, False) for f in reversed(fields)]
    seen: set[tuple[int, int]] = set()
    values: set[tuple[int, int]] = set()
    count = signatures = 0
    while stack:
        node, depth, inherited_sig = stack.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
        field = _resolved(node)
        if not isinstance(field, DictionaryObject):
            continue
        count += 1
        if count > caps.max_fields:
            return _refused(f"Tài liệu có hơn {_vi_number(caps.max_fields)} trường biểu mẫu.")
        if depth > caps.max_field_depth:
            return _refused("Cây trường biểu mẫu của tài liệu lồng nhau quá sâu.")
        kind = field.get("/FT")
        is_sig = kind == "/Sig" if kind is not None else inherited_sig
        value = field.get("/V")
        if is_sig and value is not None:
            signatures += 1
            if signatures > caps.max_signatures:
                return _refused(f"Tài liệu có hơn {caps.max_signatures} chữ ký.")
            if isinstance(value, IndirectObject):
                ref = (value.idnum, value.generation)
                if ref in values:
                    return _refused(
                        "Nhiều trường chữ ký cùng trỏ tới một chữ ký; tài liệu có dấu hiệu "
                        "bị làm giả để làm quá tải hệ thống."
                    )
                values.add(ref)
        kids = _resolved(field.get("/Kids"))
        if isinstance(kids, list):
            stack.extend((kid, depth + 1, is_sig) for kid in reversed(kids))
    return _PASSED


def _resolved(value: object) -> object:
    return value.get_object() if isinstance(value, PdfObject) else value
