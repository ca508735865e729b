"""Writing the assembled PDF: whole or not at all, over an old file, and the same bytes again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from digitize.assemble import assemble_pdf
from digitize.errors import AssembleError
from digitize.ocr import PageOcr
from tests.digitize.conftest import DOSSIER, Assembled
from tests.support.pdfs import info as _info
from tests.support.pdfs import pdf_date as _pdf_date
from tests.support.pdfs import resolved as _obj


def test_failure_leaves_existing_output_untouched(assembled: Assembled, tmp_path: Path) -> None:
    """When a text layer is missing, assembly fails and the previous output stays as it was."""
    out = tmp_path / "ho-so.pdf"
    out.write_bytes(b"previous result")
    broken = PageOcr(text="", confidence=0.0, layout=tmp_path / "missing.json")
    with pytest.raises(AssembleError) as caught:
        assemble_pdf([(assembled.pages[0], assembled.ocrs[0]), (assembled.pages[1], broken)], out)
    assert "trang 2" in caught.value.message_vi
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["ho-so.pdf"]


def test_rewrite_replaces_output_without_temporaries(assembled: Assembled, tmp_path: Path) -> None:
    """Assembling over an existing file replaces it whole and leaves no temporary file."""
    out = tmp_path / "ho-so.pdf"
    out.write_bytes(b"previous result")
    assemble_pdf([(assembled.pages[1], assembled.ocrs[1])], out)
    assert len(PdfReader(out).pages) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ho-so.pdf"]


def test_no_pages_is_an_error(tmp_path: Path) -> None:
    """Assembling nothing is refused with an AssembleError and writes no file."""
    with pytest.raises(AssembleError):
        assemble_pdf([], tmp_path / "empty.pdf")
    assert not (tmp_path / "empty.pdf").exists()


def test_assembly_with_an_identity_is_reproducible(assembled: Assembled, tmp_path: Path) -> None:
    """The same pages with the same identity give the same bytes; another identity does not."""
    pages = list(zip(assembled.pages, assembled.ocrs, strict=True))
    created = datetime(2026, 11, 20, 2, 15, tzinfo=UTC)
    first, again, other = tmp_path / "1.pdf", tmp_path / "2.pdf", tmp_path / "3.pdf"
    assemble_pdf(pages, first, DOSSIER, identity=("42", created))
    assemble_pdf(pages, again, DOSSIER, identity=("42", created))
    assemble_pdf(pages, other, DOSSIER, identity=("43", created))
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    reader = PdfReader(first)
    assert _pdf_date(_info(reader)["/CreationDate"]) == created
    file_id = _obj(reader.trailer["/ID"])
    assert file_id[0] == file_id[1]
