"""OCR of one page with Tesseract in process: accuracy, one recognition a page, layout, failures."""

from __future__ import annotations

import multiprocessing
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import digitize.ocr as ocr_module
from digitize.errors import DigitizeError, OcrError, OcrTimeout
from digitize.ocr import (
    OcrSettings,
    PageOcr,
    find_tessdata,
    layout_text,
    ocr_page,
    recognise,
)
from digitize.pages import PageImage, split_pages
from digitize.textlayer import read_layout
from tests.support.scans import corpus_paragraphs, write_scan
from tests.support.text import cer


class _CountingApi:
    """Tesseract's API with its recognitions counted (everything else passed through)."""

    def __init__(self, api: Any, counts: list[int]) -> None:
        self._api = api
        self._counts = counts

    def Recognize(self, *args: Any, **kwargs: Any) -> bool:
        self._counts.append(1)
        return bool(self._api.Recognize(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)


@dataclass(frozen=True)
class Recognised:
    """Pages rendered from the corpus, split and OCR'd once, with the recognitions counted."""

    pages: tuple[PageImage, ...]
    ocrs: tuple[PageOcr, ...]
    references: tuple[str, ...]
    recognitions: int
    outdir: Path


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
    counts: list[int] = []
    engine = ocr_module._engine(OcrSettings())
    real_api = engine.api
    engine.api = _CountingApi(real_api, counts)
    try:
        ocrs = tuple(ocr_page(page, root / "ocr", OcrSettings()) for page in pages)
    finally:
        engine.api = real_api
    return Recognised(
        pages=tuple(pages),
        ocrs=ocrs,
        references=references,
        recognitions=len(counts),
        outdir=root / "ocr",
    )


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
    """The page text is NFC and carries no form feed or surrounding blank lines."""
    for ocr in recognised.ocrs:
        assert unicodedata.is_normalized("NFC", ocr.text)
        assert ocr.text == ocr.text.strip()
        assert "\f" not in ocr.text


def test_one_recognition_per_page(recognised: Recognised) -> None:
    """Each page costs exactly one Tesseract recognition, for text, confidences and places."""
    assert recognised.recognitions == len(recognised.pages)


def test_layout_is_named_after_the_page_and_matches_the_text(recognised: Recognised) -> None:
    """Each page's layout file is named after its stem, has its size, and spells its text."""
    stems = [p.path.stem for p in recognised.pages]
    assert sorted(p.name for p in recognised.outdir.iterdir()) == sorted(f"{s}.json" for s in stems)
    for page, ocr in zip(recognised.pages, recognised.ocrs, strict=True):
        assert ocr.layout == recognised.outdir / f"{page.path.stem}.json"
        layout = read_layout(ocr.layout)
        assert (layout.width, layout.height, layout.dpi) == (page.width, page.height, page.dpi)
        words = [w for line in layout.lines for w in line.words]
        assert " ".join(w.text for w in words) == " ".join(ocr.text.split())
        for word in words:
            left, top, right, bottom = word.box
            assert 0 <= left < right <= page.width and 0 <= top < bottom <= page.height
            assert 0 <= word.confidence <= 100


def test_lines_are_in_reading_order_with_level_baselines(recognised: Recognised) -> None:
    """Lines come top to bottom, each baseline level and near the bottom of its line's box."""
    layout = read_layout(recognised.ocrs[0].layout)
    assert len(layout.lines) > 10
    tops = [line.box[1] for line in layout.lines]
    assert tops == sorted(tops)
    for line in layout.lines:
        x1, y1, x2, y2 = line.baseline
        assert x2 > x1 and abs(y2 - y1) <= 3
        assert line.box[1] < y1 <= line.box[3]


def test_blank_page_has_no_text_and_zero_confidence(tmp_path: Path) -> None:
    """A blank page yields empty text, no lines and a confidence of exactly 0.0."""
    result = ocr_page(_small_page(tmp_path), tmp_path / "ocr", OcrSettings())
    assert result.text == ""
    assert result.confidence == 0.0
    assert read_layout(result.layout).lines == ()


def test_rerun_replaces_layout_whole(tmp_path: Path) -> None:
    """OCR of the same page again replaces the layout and leaves no temporaries behind."""
    write_scan(tmp_path / "p.png", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", dpi=300)
    [page] = split_pages([tmp_path / "p.png"], tmp_path / "work")
    first = ocr_page(page, tmp_path / "ocr", OcrSettings())
    first.layout.write_text("hỏng", encoding="utf-8")
    second = ocr_page(page, tmp_path / "ocr", OcrSettings())
    assert second.text == first.text
    assert "hồ sơ" in second.text
    assert read_layout(second.layout).lines
    assert [p.name for p in (tmp_path / "ocr").iterdir()] == ["0001.json"]


def test_engine_is_loaded_once_per_process() -> None:
    """The models are loaded once per process and settings: a second page reuses them."""
    settings = OcrSettings()
    assert ocr_module._engine(settings) is ocr_module._engine(settings)
    assert ocr_module._engine(OcrSettings(lang="vie+eng")) is not ocr_module._engine(settings)


def _engine_made_here(_: int) -> bool:
    """In a worker process: whether it made an engine of its own (module-level to pickle)."""
    import os

    ocr_module._engine(OcrSettings())
    return any(pid == os.getpid() for pid, _ in ocr_module._ENGINES)


def test_forked_worker_makes_its_own_engine() -> None:
    """A forked worker never uses the engine its parent loaded, but loads its own."""
    ocr_module._engine(OcrSettings())
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.map(_engine_made_here, [0]) == [True]


def test_slow_recognition_is_abandoned_and_retryable(tmp_path: Path) -> None:
    """Recognition past the timeout raises OcrTimeout (retry); no layout is written."""
    reference = write_scan(tmp_path / "dense.png", "\n".join(corpus_paragraphs(6, seed=8)), dpi=300)
    [page] = split_pages([tmp_path / "dense.png"], tmp_path / "work")
    started = time.monotonic()
    with pytest.raises(OcrTimeout) as caught:
        ocr_page(page, tmp_path / "ocr", OcrSettings(timeout_s=0.05))
    assert time.monotonic() - started < 2.5
    assert caught.value.disposition == "retry"
    assert "quá thời gian" in caught.value.message_vi
    assert list((tmp_path / "ocr").iterdir()) == []
    # The same engine reads the page in full right after.
    with Image.open(page.path) as image:
        again = recognise(image, page.dpi, OcrSettings())
    assert cer(reference, layout_text(again)) < 0.03


def test_unknown_language_is_a_failing_digitize_error(tmp_path: Path) -> None:
    """A language with no models raises OcrError (fail) naming it, in Vietnamese."""
    with pytest.raises(DigitizeError) as caught:
        ocr_page(_small_page(tmp_path), tmp_path / "ocr", OcrSettings(lang="khongco"))
    assert isinstance(caught.value, OcrError)
    assert not isinstance(caught.value, OcrTimeout)
    assert caught.value.disposition == "fail"
    assert "khongco" in caught.value.message_vi and "khongco" in caught.value.detail
    assert not (tmp_path / "ocr").exists() or list((tmp_path / "ocr").iterdir()) == []


def test_models_are_found_in_the_system_folder_or_where_told(tmp_path: Path) -> None:
    """Without a setting the system's vie models are found; a folder without them is refused."""
    assert (find_tessdata(OcrSettings()) / "vie.traineddata").is_file()
    with pytest.raises(OcrError, match="tesseract-ocr-vie"):
        find_tessdata(OcrSettings(tessdata=str(tmp_path)))
