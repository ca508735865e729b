"""OCR of one page with Tesseract: accuracy, one run per page, outputs, failures."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from digitize.errors import DigitizeError, OcrError, OcrTimeout
from digitize.ocr import OcrSettings, PageOcr, ocr_page
from digitize.pages import PageImage, split_pages
from tests.support.scans import corpus_paragraphs, write_scan
from tests.support.text import cer

FAKE_TESSERACT = """#!{python}
import json, os, sys, time
log = {log!r}
with open(log, "a", encoding="utf-8") as handle:
    record = {{"argv": sys.argv, "omp": os.environ.get("OMP_THREAD_LIMIT")}}
    handle.write(json.dumps(record) + "\\n")
if {sleep} > 0:
    time.sleep({sleep})
base = sys.argv[2]
runs = sum(1 for _ in open(log, encoding="utf-8"))
with open(base + ".txt", "w", encoding="utf-8") as handle:
    handle.write("Lần chạy %d\\n\\f" % runs)
with open(base + ".tsv", "w", encoding="utf-8") as handle:
    handle.write("level\\tpage_num\\tblock_num\\tpar_num\\tline_num\\tword_num\\tleft\\ttop"
                 "\\twidth\\theight\\tconf\\ttext\\n")
    handle.write("1\\t1\\t0\\t0\\t0\\t0\\t0\\t0\\t10\\t10\\t-1\\t\\n")
    handle.write("5\\t1\\t1\\t1\\t1\\t1\\t0\\t0\\t5\\t5\\t90\\tLần\\n")
    handle.write("5\\t1\\t1\\t1\\t1\\t2\\t5\\t0\\t5\\t5\\t70.5\\tchạy\\n")
    handle.write("5\\t1\\t1\\t1\\t1\\t3\\t9\\t0\\t1\\t5\\t-1\\t \\n")
with open(base + ".pdf", "wb") as handle:
    handle.write(b"%PDF-1.5 fake")
"""


@dataclass(frozen=True)
class Recognised:
    """Pages rendered from the corpus, split and OCR'd once, with the Tesseract runs seen."""

    pages: tuple[PageImage, ...]
    ocrs: tuple[PageOcr, ...]
    references: tuple[str, ...]
    tesseract_runs: tuple[tuple[str, ...], ...]
    seconds_per_page: tuple[float, ...]
    outdir: Path


def _counting(
    real: Callable[..., subprocess.CompletedProcess[bytes]], calls: list[tuple[str, ...]]
) -> Callable[..., subprocess.CompletedProcess[bytes]]:
    def run(command: Any, *args: Any, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        if isinstance(command, list | tuple) and "tesseract" in str(command[0]):
            calls.append(tuple(str(part) for part in command))
        return real(command, *args, **kwargs)

    return run


@pytest.fixture(scope="module")
def recognised(tmp_path_factory: pytest.TempPathFactory) -> Recognised:
    """A grey 300 dpi PNG page, a bilevel 200 dpi TIFF page and a colour JPEG page, OCR'd."""
    root = tmp_path_factory.mktemp("recognised")
    texts = corpus_paragraphs(7, seed=3)
    scans = root / "scans"
    scans.mkdir()
    references = (
        write_scan(scans / "a.png", "\n".join(texts[:5]), dpi=300, mode="L"),
        write_scan(scans / "b.tif", texts[5], dpi=200, mode="1"),
        write_scan(scans / "c.jpg", texts[6], dpi=300, mode="RGB"),
    )
    pages = split_pages(sorted(scans.iterdir()), root / "work")
    calls: list[tuple[str, ...]] = []
    seconds: list[float] = []
    ocrs: list[PageOcr] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess, "run", _counting(subprocess.run, calls))
        for page in pages:
            started = time.monotonic()
            ocrs.append(ocr_page(page, root / "ocr", OcrSettings()))
            seconds.append(time.monotonic() - started)
    return Recognised(
        pages=tuple(pages),
        ocrs=tuple(ocrs),
        references=references,
        tesseract_runs=tuple(calls),
        seconds_per_page=tuple(seconds),
        outdir=root / "ocr",
    )


def _fake_tesseract(tmp_path: Path, *, sleep: float = 0) -> tuple[str, Path]:
    log = tmp_path / "tesseract-calls.jsonl"
    script = tmp_path / "fake-tesseract"
    script.write_text(FAKE_TESSERACT.format(python=sys.executable, log=str(log), sleep=sleep))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


def _small_page(tmp_path: Path, *, dpi: int = 150) -> PageImage:
    Image.new("L", (300, 200), 255).save(tmp_path / "trang.png", dpi=(dpi, dpi))
    [page] = split_pages([tmp_path / "trang.png"], tmp_path / "work")
    return page


def test_vietnamese_page_is_read_accurately(recognised: Recognised) -> None:
    """A clean 300 dpi page of Vietnamese prose is read with under 3% character errors."""
    page, ocr, reference = recognised.pages[0], recognised.ocrs[0], recognised.references[0]
    assert len(reference) > 1500
    assert (page.mode, page.dpi) == ("L", 300)
    assert cer(reference, ocr.text) < 0.03


def test_bilevel_and_colour_pages_are_read_accurately(recognised: Recognised) -> None:
    """A bilevel 200 dpi page and a colour JPEG page are also read with under 3% errors."""
    for index in (1, 2):
        assert cer(recognised.references[index], recognised.ocrs[index].text) < 0.03


def test_clean_page_has_high_confidence(recognised: Recognised) -> None:
    """Tesseract's mean word confidence on a clean scan is above 80."""
    assert all(80 < ocr.confidence <= 100 for ocr in recognised.ocrs)


def test_text_is_nfc_without_page_separator(recognised: Recognised) -> None:
    """The page text is NFC and carries no trailing form feed or blank lines."""
    for ocr in recognised.ocrs:
        assert unicodedata.is_normalized("NFC", ocr.text)
        assert ocr.text == ocr.text.strip()
        assert "\f" not in ocr.text


def test_one_tesseract_run_per_page_makes_all_outputs(recognised: Recognised) -> None:
    """Each page costs exactly one Tesseract run, asking for PDF, text and TSV at once."""
    assert len(recognised.tesseract_runs) == len(recognised.pages)
    for run, page in zip(recognised.tesseract_runs, recognised.pages, strict=True):
        assert run[1] == str(page.path)
        assert run[-3:] == ("pdf", "txt", "tsv")
        assert "textonly_pdf=1" in run


def test_outputs_are_named_after_the_page(recognised: Recognised) -> None:
    """The text PDF, text and TSV files are named after the page stem; no temporaries remain."""
    names = sorted(p.name for p in recognised.outdir.iterdir())
    stems = [p.path.stem for p in recognised.pages]
    assert names == sorted(f"{stem}.{ext}" for stem in stems for ext in ("pdf", "tsv", "txt"))
    assert [o.text_pdf for o in recognised.ocrs] == [recognised.outdir / f"{s}.pdf" for s in stems]
    assert all(o.text_pdf.read_bytes().startswith(b"%PDF") for o in recognised.ocrs)


def test_blank_page_has_no_text_and_zero_confidence(tmp_path: Path) -> None:
    """A blank page yields empty text and a confidence of exactly 0.0."""
    result = ocr_page(_small_page(tmp_path), tmp_path / "ocr", OcrSettings())
    assert result.text == ""
    assert result.confidence == 0.0
    assert result.text_pdf.is_file()


def test_child_runs_single_threaded_at_the_page_dpi(tmp_path: Path) -> None:
    """Tesseract gets OMP_THREAD_LIMIT=1, the page's dpi and the language asked for."""
    command, log = _fake_tesseract(tmp_path)
    page = _small_page(tmp_path, dpi=150)
    settings = OcrSettings(lang="vie+eng", tesseract_cmd=command)
    parent_limit = os.environ.get("OMP_THREAD_LIMIT")
    result = ocr_page(page, tmp_path / "ocr", settings)
    assert os.environ.get("OMP_THREAD_LIMIT") == parent_limit  # only the child's is set
    [call] = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    argv = call["argv"]
    assert call["omp"] == "1"
    assert argv[argv.index("--dpi") + 1] == "150"
    assert argv[argv.index("-l") + 1] == "vie+eng"
    assert "tessedit_do_invert=0" in argv  # no second, inverted reading of doubtful lines
    assert result.text == "Lần chạy 1"
    assert result.confidence == pytest.approx(80.25)  # mean of 90 and 70.5; -1 and blanks skipped
    assert result.text_pdf == tmp_path / "ocr" / "0001.pdf"


def test_rerun_replaces_outputs_whole(tmp_path: Path) -> None:
    """OCR of the same page again replaces the previous outputs and leaves no temporaries."""
    command, _ = _fake_tesseract(tmp_path)
    page = _small_page(tmp_path)
    settings = OcrSettings(tesseract_cmd=command)
    ocr_page(page, tmp_path / "ocr", settings)
    second = ocr_page(page, tmp_path / "ocr", settings)
    assert second.text == "Lần chạy 2"
    assert sorted(p.name for p in (tmp_path / "ocr").iterdir()) == [
        "0001.pdf",
        "0001.tsv",
        "0001.txt",
    ]


def test_slow_tesseract_is_killed_and_retryable(tmp_path: Path) -> None:
    """A run longer than the timeout raises OcrTimeout, whose disposition is retry."""
    command, _ = _fake_tesseract(tmp_path, sleep=30)
    settings = OcrSettings(tesseract_cmd=command, timeout_s=0.5)
    with pytest.raises(OcrTimeout) as caught:
        ocr_page(_small_page(tmp_path), tmp_path / "ocr", settings)
    assert caught.value.disposition == "retry"
    assert "quá thời gian" in caught.value.message_vi
    assert list((tmp_path / "ocr").iterdir()) == []


def test_tesseract_failure_is_a_digitize_error(tmp_path: Path) -> None:
    """Tesseract exiting with an error (unknown language) raises a failing DigitizeError."""
    settings = OcrSettings(lang="khongco")
    with pytest.raises(DigitizeError) as caught:
        ocr_page(_small_page(tmp_path), tmp_path / "ocr", settings)
    assert isinstance(caught.value, OcrError)
    assert not isinstance(caught.value, OcrTimeout)
    assert caught.value.disposition == "fail"
    assert "khongco" in caught.value.detail
    assert list((tmp_path / "ocr").iterdir()) == []


def test_missing_tesseract_is_a_digitize_error(tmp_path: Path) -> None:
    """A Tesseract executable that cannot be found raises DigitizeError, not OSError."""
    settings = OcrSettings(tesseract_cmd=str(tmp_path / "khong-co-tesseract"))
    with pytest.raises(DigitizeError, match="Tesseract"):
        ocr_page(_small_page(tmp_path), tmp_path / "ocr", settings)
