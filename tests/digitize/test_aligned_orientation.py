"""Orientation that never makes a clean page worse: aligned text, like lines, second readings."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import digitize.ocr as ocr_module
import digitize.prepare as prepare_module
from digitize.ocr import OcrSettings
from digitize.orientation import Orientation
from digitize.pages import split_pages
from digitize.pipeline import PageOutcome, process_page
from digitize.prepare import PrepareSettings, detect_orientation
from tests.support.degrade import degrade, rotate_page
from tests.support.scans import aligned_page, corpus_paragraphs, render_page, repeated_lines_page
from tests.support.text import cer

KINDS = ("table", "list", "form")

NO_OSD = PrepareSettings(osd_fallback=False)


@pytest.fixture(scope="module")
def aligned() -> dict[str, tuple[Image.Image, str]]:
    """A ruled table, a numbered list and a household form, 30 like rows each, 200 dpi."""
    return {kind: aligned_page(kind, dpi=200) for kind in KINDS}


def _sorted_words(text: str) -> str:
    """The words of a text in sorted order, to compare readings whatever their column order."""
    return " ".join(sorted(text.split()))


def _run(image: Image.Image, folder: Path, prepare: PrepareSettings | None = None) -> PageOutcome:
    """Save a scan, split it and prepare and read it as the pipeline does."""
    folder.mkdir(parents=True, exist_ok=True)
    dpi = round(float(image.info.get("dpi", (300, 300))[0]))
    image.save(folder / "scan.png", dpi=(dpi, dpi), compress_level=1)
    [page] = split_pages([folder / "scan.png"], folder / "work")
    return process_page(page, 1, folder / "work", prepare=prepare or PrepareSettings())


@pytest.mark.parametrize("turned", [0, 90, 180, 270])
@pytest.mark.parametrize("kind", KINDS)
def test_aligned_text_is_never_given_a_wrong_quarter_turn(
    kind: str, turned: int, aligned: dict[str, tuple[Image.Image, str]]
) -> None:
    """On the line profile alone, a table, list or form comes out the right way up, or as
    it lies with the right quarter turn as the alternative to read; never turned wrongly."""
    page, _ = aligned[kind]
    noisy = degrade(page, rotate=turned, skew_deg=1.5, noise=20, jpeg_quality=60, seed=turned)
    wanted = (360 - turned) % 360
    for scan in (rotate_page(page, turned), noisy):
        orientation = detect_orientation(scan, 200, NO_OSD)
        if turned in (0, 180) or orientation.rotation % 180:
            assert (orientation.rotation, orientation.confident) == (wanted, True)
        else:
            assert orientation.rotation == 0 and not orientation.confident
            assert orientation.alternative is not None
            assert orientation.alternative.rotation == wanted


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_forty_like_lines_with_a_red_circle_stay_upright(mode: str, tmp_path: Path) -> None:
    """The page of the issue (40 lines of the same words, 48 px serif, a red circle at the
    lower right, 300 dpi), in colour or grey, is read upright, as one reading, and well."""
    page, text = repeated_lines_page(mode=mode)
    orientation = detect_orientation(page, 300, NO_OSD)
    assert (orientation.rotation, orientation.confident, orientation.alternative) == (0, True, None)
    outcome = _run(page, tmp_path)
    assert outcome.prepared.orientation.rotation == 0
    assert outcome.ocr.confidence > 90
    assert cer(text, outcome.ocr.text) < 0.03
    assert outcome.findings == ()


def test_turned_page_of_like_lines_without_osd_is_read_both_ways(tmp_path: Path) -> None:
    """Turned a quarter and with no OSD to confirm it, the like lines are first read as they
    lie; that reading is poor, so the quarter turn is read too and kept, being better."""
    page, text = repeated_lines_page(mode="L", dpi=200, font_px=32)
    outcome = _run(rotate_page(page, 90), tmp_path, NO_OSD)
    orientation = outcome.prepared.orientation
    assert (orientation.rotation, orientation.method, orientation.confident) == (
        270,
        "reading",
        True,
    )
    assert cer(text, outcome.ocr.text) < 0.03
    assert outcome.findings == ()


def test_short_page_upside_down_without_osd_is_read_both_ways(tmp_path: Path) -> None:
    """Two lines cannot say which end is up; read as they lie they read poorly, so they
    are read upside down too, and that reading is kept."""
    page, text = render_page("Giấy biên nhận hồ sơ\nSố: 123/GBN ngày 05/8/2025", dpi=200)
    outcome = _run(rotate_page(page, 180), tmp_path, NO_OSD)
    orientation = outcome.prepared.orientation
    assert (orientation.rotation, orientation.method) == (180, "reading")
    assert cer(text, outcome.ocr.text) < 0.05


@pytest.mark.parametrize(("kind", "turned"), [("list", 90), ("table", 270)])
def test_turned_aligned_page_comes_out_upright(
    kind: str, turned: int, aligned: dict[str, tuple[Image.Image, str]], tmp_path: Path
) -> None:
    """A list or a table scanned on its side is turned upright (by OSD or by what its reading
    says) and its words read well (Tesseract may read the columns one after the other, and
    loses the list's numbers, as it does with the page upright)."""
    page, text = aligned[kind]
    outcome = _run(degrade(page, rotate=turned, skew_deg=-1.0, seed=3), tmp_path)
    assert outcome.prepared.orientation.rotation == (360 - turned) % 360
    assert outcome.ocr.confidence > 85
    assert cer(_sorted_words(text), _sorted_words(outcome.ocr.text)) < 0.1


@pytest.mark.parametrize("wrong", [90, 270])
def test_a_wrong_quarter_turn_is_undone_by_its_reading(
    wrong: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page turned a quarter on a wrong signal is read once more and kept upright: turned
    90° its lines run down the page, and the reading says which way is up; turned 270°
    it reads poorly, so its alternative (as it lay) is read too and wins."""
    page, text = render_page("\n".join(corpus_paragraphs(2, seed=12)), dpi=200)
    upright = Orientation(0, 0.0, "profile", confident=False, lines=20)
    turned = Orientation(wrong, 0.0, "profile", confident=True, lines=20, alternative=upright)
    monkeypatch.setattr(prepare_module, "find_orientation", lambda *args: turned)
    outcome = _run(page, tmp_path)
    orientation = outcome.prepared.orientation
    assert (orientation.rotation, orientation.method, orientation.confident) == (
        0,
        "reading",
        True,
    )
    assert cer(text, outcome.ocr.text) < 0.03
    assert (outcome.prepared.page.width, outcome.prepared.page.height) == page.size


def test_clean_upright_page_is_recognised_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clean upright page costs one recognition: no second reading, no line read again."""
    calls: list[str] = []
    real = ocr_module.recognise

    def counting(image: Image.Image, dpi: int, settings: OcrSettings, **kw: object) -> object:
        calls.append("page")
        return real(image, dpi, settings, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr("digitize.pipeline.recognise", counting)
    monkeypatch.setattr("digitize.recovery.recognise", lambda *a, **k: calls.append("strip"))
    page, text = render_page("\n".join(corpus_paragraphs(3, seed=13)), dpi=200)
    outcome = _run(page, tmp_path)
    assert calls == ["page"]
    assert cer(text, outcome.ocr.text) < 0.03
