"""The digitize recipe end to end in one process tree: scans in, searchable PDF out."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from digitize.errors import BadInputError
from digitize.pipeline import DigitizeResult, digitize_files
from tests.support.scans import corpus_paragraphs, write_image_pdf, write_scan
from tests.support.text import cer


@dataclass(frozen=True)
class ParallelRun:
    """A two-page run with jobs=2, and what the temporary directory held afterwards."""

    result: DigitizeResult
    references: tuple[str, ...]
    out: Path
    leftovers: tuple[str, ...]


@pytest.fixture(scope="module")
def parallel_run(tmp_path_factory: pytest.TempPathFactory) -> ParallelRun:
    """Two short pages (a PNG and an image-only PDF) digitized with two worker processes."""
    root = tmp_path_factory.mktemp("parallel")
    texts = corpus_paragraphs(2, seed=5)
    references = (
        write_scan(root / "1.png", texts[0], dpi=200),
        *write_image_pdf(root / "2.pdf", [texts[1]], dpi=200, mode="1"),
    )
    scratch = root / "tmp"
    scratch.mkdir()
    out = root / "ket-qua.pdf"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(scratch))
        result = digitize_files([root / "1.png", root / "2.pdf"], out, jobs=2)
    leftovers = tuple(p.name for p in scratch.iterdir())
    return ParallelRun(result, references, out, leftovers)


def test_parallel_run_returns_each_page_text_in_order(parallel_run: ParallelRun) -> None:
    """With jobs=2 the result has one text and one confidence per page, in page order."""
    result = parallel_run.result
    assert result.pages == 2
    texts = result.text.split("\f")
    assert len(texts) == 2
    for reference, text in zip(parallel_run.references, texts, strict=True):
        assert cer(reference, text) < 0.03
    assert len(result.confidences) == 2
    assert all(c > 80 for c in result.confidences)
    assert result.seconds > 0


def test_parallel_run_writes_a_searchable_pdf(parallel_run: ParallelRun) -> None:
    """The output PDF has both pages with their text layers, in order."""
    reader = PdfReader(parallel_run.out)
    assert len(reader.pages) == 2
    for page, reference in zip(reader.pages, parallel_run.references, strict=True):
        assert cer(reference, page.extract_text()) < 0.03


def test_temporary_workdir_is_removed(parallel_run: ParallelRun) -> None:
    """Without a workdir, the temporary working directory is gone after the run."""
    assert parallel_run.leftovers == ()


def test_given_workdir_keeps_pages_and_ocr(tmp_path: Path) -> None:
    """With a workdir, page images and OCR outputs stay there for inspection or reuse."""
    write_scan(tmp_path / "1.png", "Giấy hẹn trả kết quả.", dpi=200)
    result = digitize_files([tmp_path / "1.png"], tmp_path / "out.pdf", workdir=tmp_path / "work")
    assert result.pages == 1
    assert (tmp_path / "work" / "pages" / "0001.png").is_file()
    assert sorted(p.name for p in (tmp_path / "work" / "ocr").iterdir()) == ["0001.json"]
    assert sorted(p.name for p in (tmp_path / "work" / "encoded").iterdir()) == ["0001.img"]


def test_bad_input_stops_before_any_output(tmp_path: Path) -> None:
    """An unsupported file among the inputs raises BadInputError and writes no PDF."""
    write_scan(tmp_path / "1.png", "Trang một.", dpi=100)
    (tmp_path / "2.docx").write_bytes(b"PK\x03\x04 not a scan")
    with pytest.raises(BadInputError, match=re.escape("2.docx")):
        digitize_files([tmp_path / "1.png", tmp_path / "2.docx"], tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()
