"""Reading and rewriting PDFs in tests: resolved objects, catalog, Info, dates, PDF/A clauses."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import PdfObject

from core.pdfa.check import PdfaViolation

__all__ = ["catalog", "clauses", "info", "pdf_date", "resolved", "rewritten"]


def resolved(value: object) -> Any:
    """A pypdf object resolved, typed loosely for reading in assertions."""
    return value.get_object() if isinstance(value, PdfObject) else value


def catalog(reader: PdfReader) -> Any:
    """The document's catalog (the trailer's /Root)."""
    return resolved(reader.trailer["/Root"])


def info(reader: PdfReader) -> dict[str, str]:
    """The document's Info dictionary, keys and values as text."""
    assert reader.metadata is not None
    return {str(key): str(value) for key, value in reader.metadata.items()}


def pdf_date(value: str) -> datetime:
    """A PDF date string (``D:20250312083000+07'00'``) as an aware datetime."""
    return datetime.strptime(value.replace("'", ""), "D:%Y%m%d%H%M%S%z")


def rewritten(data: bytes, change: Callable[[PdfWriter], None]) -> bytes:
    """``data`` copied through pypdf with ``change`` applied to the copy."""
    writer = PdfWriter(clone_from=io.BytesIO(data))
    change(writer)
    writer.pdf_header = "%PDF-1.7"
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def clauses(violations: list[PdfaViolation]) -> set[str]:
    """The clauses of the standard that ``violations`` break."""
    return {v.clause for v in violations}
