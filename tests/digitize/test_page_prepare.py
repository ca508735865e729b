"""Page preparation: upright pages whatever way they were scanned, straight lines, seals removed."""

from __future__ import annotations

import stat
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from pypdf import PdfReader

from digitize.ocr import OcrSettings, ocr_page
from digitize.orientation import _osd_rotation
from digitize.pages import PageImage, split_pages
from digitize.pipeline import DigitizeResult, digitize_files, process_page
from digitize.prepare import (
    PreparedPage,
    PrepareSettings,
    _max_filter,
    detect_orientation,
    prepare_images,
)
from digitize.textlayer import read_layout
from tests.support.degrade import add_seal, degrade
from tests.support.scans import certificate_form, corpus_paragraphs, render_page
from tests.support.text import cer

FAKE_OSD = """#!{python}
import sys, time
with open({log!r}, "a", encoding="utf-8") as handle:
    handle.write(" ".join(sys.argv[1:]) + "\\n")
time.sleep({sleep})
if {status}:
    sys.exit({status})
# Like Tesseract: the answer goes to the output base given after the image, plus ".osd".
with open(sys.argv[2] + ".osd", "w", encoding="utf-8") as answer:
    answer.write("Page number: 0\\nOrientation in degrees: {rotate}\\nRotate: {rotate}\\n"
                 "Orientation confidence: {confidence}\\nScript: Latin\\nScript confidence: 3.0\\n")
"""


@dataclass(frozen=True)
class Source:
    """A clean rendered page and the text on it."""

    image: Image.Image
    text: str


@pytest.fixture(scope="module")
def source() -> Source:
    """Two paragraphs of Vietnamese prose on a grey 300 dpi A4 page."""
    image, text = render_page("\n".join(corpus_paragraphs(2, seed=31)), dpi=300)
    return Source(image, text)


def _split(image: Image.Image, folder: Path, name: str = "scan.png") -> PageImage:
    folder.mkdir(parents=True, exist_ok=True)
    dpi = round(float(image.info.get("dpi", (300, 300))[0]))
    image.save(folder / name, dpi=(dpi, dpi), compress_level=1)
    [page] = split_pages([folder / name], folder / "work")
    return page


def _prepare_and_read(image: Image.Image, folder: Path) -> tuple[PageImage, PreparedPage, str]:
    page = _split(image, folder)
    prepared, _, ocr_image = prepare_images(page, folder / "prepared")
    ocr = ocr_page(prepared.page, folder / "ocr", OcrSettings(), image=ocr_image)
    return page, prepared, ocr.text


@pytest.mark.parametrize("turned", [90, 180, 270])
def test_turned_and_skewed_page_comes_out_upright(
    turned: int, source: Source, tmp_path: Path
) -> None:
    """A page turned a quarter, half or three quarters and tilted 2.5° reads as upright text."""
    scan = degrade(source.image, rotate=turned, skew_deg=2.5, seed=turned)
    page, prepared, text = _prepare_and_read(scan, tmp_path)
    orientation = prepared.orientation
    assert orientation.rotation == (360 - turned) % 360
    assert orientation.skew == pytest.approx(2.5, abs=0.5)
    assert orientation.confident and orientation.method == "profile"
    kept = prepared.page
    assert (kept.width, kept.height) == (source.image.width, source.image.height)
    assert kept.path != page.path
    assert cer(source.text, text) < 0.03


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_orientation_and_skew_are_found_on_noisy_scans(seed: int, source: Source) -> None:
    """Every quarter turn and tilts either way are found on noisy, JPEG-compressed scans."""
    tilt = (-7.0, 4.5, -1.5)[seed - 1]
    for turned in (0, 90, 180, 270):
        scan = degrade(
            source.image, rotate=turned, skew_deg=tilt, noise=8, jpeg_quality=40, seed=seed
        )
        orientation = detect_orientation(scan, 300, PrepareSettings(osd_fallback=False))
        assert (orientation.rotation, orientation.confident) == ((360 - turned) % 360, True)
        assert orientation.skew == pytest.approx(tilt, abs=0.5)


@pytest.mark.parametrize("turned", [0, 90, 180, 270])
def test_form_with_a_ruled_table_is_turned_right_without_osd(turned: int) -> None:
    """A certificate with a bold heading and a ruled table is decided from its lines alone."""
    form, _ = certificate_form(rows=8)
    for tilt in (0.0, 3.0):
        scan = degrade(form, rotate=turned, skew_deg=tilt)
        orientation = detect_orientation(scan, 300, PrepareSettings(osd_fallback=False))
        assert (orientation.rotation, orientation.confident) == ((360 - turned) % 360, True)
        assert orientation.skew == pytest.approx(tilt, abs=0.5)


def test_upright_page_is_kept_as_scanned(source: Source, tmp_path: Path) -> None:
    """A straight grey page is neither rewritten nor copied: Tesseract reads the scan itself."""
    page = _split(source.image, tmp_path)
    prepared, kept, ocr_image = prepare_images(page, tmp_path / "prepared")
    assert prepared.orientation.rotation == 0
    assert abs(prepared.orientation.skew) < 0.2
    assert prepared.page == page
    assert ocr_image is kept
    with Image.open(page.path) as scanned:
        assert np.array_equal(np.asarray(scanned), np.asarray(kept))
    assert not any((tmp_path / "prepared").iterdir())


def test_kept_image_is_deskewed_but_not_degraded(source: Source, tmp_path: Path) -> None:
    """Deskewing keeps the grey page's size, mode, resolution and grey levels (no binarising)."""
    scan = degrade(source.image, skew_deg=-3.0)
    page = _split(scan, tmp_path)
    prepared, kept_image, ocr_image = prepare_images(page, tmp_path / "prepared")
    kept = prepared.page
    assert (kept.width, kept.height, kept.mode, kept.dpi) == (
        page.width,
        page.height,
        "L",
        page.dpi,
    )
    with Image.open(kept.path) as image:
        assert image.mode == "L"
        grey_levels = np.unique(np.asarray(image))
        # Straight again: the first text line's top is level across its length.
        rows = np.asarray(image) < 128
    assert grey_levels.size > 64
    columns = np.flatnonzero(rows.any(axis=0))
    left, right = columns[0], columns[-1]
    top_left = np.flatnonzero(rows[:, left : left + 200].any(axis=1))[0]
    top_right = np.flatnonzero(rows[:, right - 600 : right].any(axis=1))[0]
    assert abs(int(top_left) - int(top_right)) < 12  # 3° over ~2000 px would be ~100
    assert ocr_image is kept_image


def test_bilevel_page_stays_bilevel(source: Source, tmp_path: Path) -> None:
    """A bilevel scan turned and deskewed is kept bilevel (CCITT G4 in the PDF)."""
    scan = degrade(source.image, skew_deg=2.0, rotate=180).convert("1")
    scan.info["dpi"] = (300, 300)
    page = _split(scan, tmp_path, "scan.tif")
    prepared, kept, ocr_image = prepare_images(page, tmp_path / "prepared")
    assert prepared.orientation.rotation == 180
    assert prepared.page.mode == "1"
    assert prepared.page.path.suffix == ".tif"
    assert kept.mode == "1"
    assert ocr_image is kept


def test_red_seal_over_text_does_not_block_ocr(source: Source, tmp_path: Path) -> None:
    """A red seal stamped over the text is lifted from the OCR copy but kept in the PDF image."""
    scan = add_seal(source.image, seed=4)
    page, prepared, text = _prepare_and_read(scan, tmp_path)
    _, _, ocr_copy = prepare_images(page, tmp_path / "again")
    assert cer(source.text, text) < 0.03
    # The kept image is the colour scan itself, seal included.
    assert prepared.page == page
    with Image.open(prepared.page.path) as kept:
        reds = np.asarray(kept.convert("RGB"), dtype=np.int16)
    is_red = (reds[..., 0] - reds[..., 1:].max(axis=-1)) > 100
    assert is_red.sum() > 2000
    assert (ocr_copy.size, ocr_copy.mode) == ((page.width, page.height), "L")
    grey = np.asarray(ocr_copy)
    # Where the seal is inked, plain luminance is nearly as dark as text; the OCR copy
    # is near paper white there.
    assert np.median(np.asarray(scan.convert("L"))[is_red]) < 130
    assert np.percentile(grey[is_red], 10) > 170


def _fake_osd(
    tmp_path: Path,
    rotate: int = 180,
    *,
    confidence: float = 7.5,
    status: int = 0,
    sleep: float = 0.0,
    name: str = "fake-tesseract",
) -> tuple[str, Path]:
    """A stand-in for Tesseract answering OSD with ``rotate``, and the log of its calls."""
    log = tmp_path / f"{name}-calls.txt"
    script = tmp_path / name
    script.write_text(
        FAKE_OSD.format(
            python=sys.executable,
            log=str(log),
            rotate=rotate,
            confidence=confidence,
            status=status,
            sleep=sleep,
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


def test_undecided_page_asks_tesseract_osd(tmp_path: Path) -> None:
    """A single line cannot tell up from down; Tesseract's OSD is asked and its answer used."""
    image, _ = render_page("Giấy biên nhận hồ sơ", dpi=300)
    command, log = _fake_osd(tmp_path)
    orientation = detect_orientation(image, 300, PrepareSettings(tesseract_cmd=command))
    assert (orientation.rotation, orientation.method, orientation.confident) == (180, "osd", True)
    [call] = log.read_text(encoding="utf-8").splitlines()
    assert "--psm 0" in call


def test_osd_cannot_turn_a_clear_line_sideways(tmp_path: Path) -> None:
    """OSD answering a quarter turn for a clearly horizontal line is overruled by the profile."""
    image, _ = render_page("Giấy biên nhận hồ sơ", dpi=300)
    command, log = _fake_osd(tmp_path, rotate=90)
    orientation = detect_orientation(image, 300, PrepareSettings(tesseract_cmd=command))
    assert log.is_file()
    assert (orientation.rotation, orientation.method, orientation.confident) == (
        0,
        "profile",
        False,
    )


def test_clear_page_needs_no_osd(source: Source, tmp_path: Path) -> None:
    """A page of several lines is decided from its profile without running Tesseract."""
    command, log = _fake_osd(tmp_path)
    scan = degrade(source.image, rotate=90)
    orientation = detect_orientation(scan, 300, PrepareSettings(tesseract_cmd=command))
    assert (orientation.rotation, orientation.method) == (270, "profile")
    assert not log.exists()


def test_real_tesseract_osd_turns_a_sideways_page_upright(source: Source) -> None:
    """Tesseract's own OSD, run through pytesseract, finds the turn of a page laid sideways."""
    grey = degrade(source.image, rotate=90).convert("L")
    assert _osd_rotation(grey, 300, PrepareSettings()) == 270
    # Turned as OSD says, the page is upright: OSD then asks for no turn.
    upright = grey.rotate(-270, expand=True)
    assert _osd_rotation(upright, 300, PrepareSettings()) == 0


@pytest.mark.parametrize(
    ("case", "status", "sleep", "confidence", "timeout"),
    [
        ("failing", 1, 0.0, 7.5, 60.0),
        ("slow", 0, 30.0, 7.5, 0.5),
        ("unsure", 0, 0.0, 0.4, 60.0),
    ],
)
def test_osd_that_cannot_answer_leaves_the_page_alone(
    case: str, status: int, sleep: float, confidence: float, timeout: float, tmp_path: Path
) -> None:
    """A failing, too slow or unsure Tesseract gives no turn, and no error."""
    grey = render_page("Giấy biên nhận hồ sơ", dpi=300)[0].convert("L")
    command, log = _fake_osd(tmp_path, status=status, sleep=sleep, confidence=confidence)
    settings = PrepareSettings(tesseract_cmd=command, osd_timeout_s=timeout)
    started = time.monotonic()
    assert _osd_rotation(grey, 300, settings) is None
    assert time.monotonic() - started < 20
    assert log.is_file(), case


def test_missing_tesseract_leaves_the_page_alone(tmp_path: Path) -> None:
    """A Tesseract command that is not there gives no turn, and the page is read as it lies."""
    image, _ = render_page("Giấy biên nhận hồ sơ", dpi=300)
    settings = PrepareSettings(tesseract_cmd=str(tmp_path / "no-such-tesseract"))
    assert _osd_rotation(image.convert("L"), 300, settings) is None
    orientation = detect_orientation(image, 300, settings)
    assert (orientation.rotation, orientation.method, orientation.confident) == (
        0,
        "profile",
        False,
    )


def test_osd_commands_of_threads_do_not_mix(tmp_path: Path) -> None:
    """Runs in threads naming different commands each get their own command's answer."""
    grey = render_page("Giấy biên nhận hồ sơ", dpi=300)[0].convert("L")
    commands = {
        rotate: _fake_osd(tmp_path, rotate, sleep=0.2, name=f"tesseract-{rotate}")[0]
        for rotate in (90, 180, 270)
    }

    def ask(rotate: int) -> int | None:
        return _osd_rotation(grey, 300, PrepareSettings(tesseract_cmd=commands[rotate]))

    wanted = [90, 180, 270, 90, 180, 270, 180, 180]
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        assert list(pool.map(ask, wanted)) == wanted


def test_undecided_page_without_osd_is_flagged(tmp_path: Path) -> None:
    """With OSD off, an undecidable page stays as scanned and is flagged for the review."""
    image, _ = render_page("Giấy biên nhận hồ sơ", dpi=300)
    page = _split(image, tmp_path)
    outcome = process_page(page, 4, tmp_path / "work", prepare=PrepareSettings(osd_fallback=False))
    assert outcome.prepared.orientation.rotation == 0
    assert not outcome.prepared.orientation.confident
    assert [(f.code, f.severity, f.page) for f in outcome.findings] == [
        ("orientation_uncertain", "warn", 4)
    ]


@dataclass(frozen=True)
class MixedRun:
    """Three pages scanned three ways, digitized together."""

    result: DigitizeResult
    references: tuple[str, ...]
    out: Path
    workdir: Path


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> MixedRun:
    """An upright page, one turned 90° clockwise and one upside down and tilted, at 200 dpi."""
    root = tmp_path_factory.mktemp("mixed")
    texts = corpus_paragraphs(3, seed=41)
    references = []
    ways = [(0, 0.0), (90, 0.0), (180, 2.5)]
    for number, (text, (turn, tilt)) in enumerate(zip(texts, ways, strict=True), start=1):
        image, rendered = render_page(text, dpi=200)
        scan = degrade(image, rotate=turn, skew_deg=tilt, seed=number)
        scan.save(root / f"{number}.png", dpi=(200, 200))
        references.append(rendered)
    out = root / "ket-qua.pdf"
    result = digitize_files(
        [root / f"{n}.png" for n in (1, 2, 3)], out, jobs=2, workdir=root / "work"
    )
    return MixedRun(result, tuple(references), out, root / "work")


def test_mixed_orientations_read_in_order(mixed_run: MixedRun) -> None:
    """Each page's text comes back upright and in page order with under 3% errors."""
    result = mixed_run.result
    assert result.rotations == (0, 270, 180)
    assert result.skews[2] == pytest.approx(2.5, abs=0.5)
    texts = result.text.split("\f")
    assert len(texts) == 3
    for reference, text in zip(mixed_run.references, texts, strict=True):
        assert cer(reference, text) < 0.03
    assert result.findings == ()


def test_mixed_orientations_make_upright_pdf_pages(mixed_run: MixedRun) -> None:
    """Every PDF page is portrait A4 and its text layer reads like the reference."""
    reader = PdfReader(mixed_run.out)
    assert len(reader.pages) == 3
    for pdf_page, reference in zip(reader.pages, mixed_run.references, strict=True):
        width, height = float(pdf_page.mediabox.width), float(pdf_page.mediabox.height)
        assert (width, height) == pytest.approx((595.3, 841.9), abs=1.0)
        assert cer(reference, pdf_page.extract_text()) < 0.03


def test_text_layer_lies_over_the_kept_ink(mixed_run: MixedRun) -> None:
    """The words Tesseract placed on the turned page sit over ink in the upright image."""
    work = mixed_run.workdir
    with Image.open(work / "prepared" / "0002.tif") as kept:
        ink = np.asarray(kept.convert("L")) < 128
    layout = read_layout(work / "ocr" / "0002.json")
    assert (layout.width, layout.height) == (ink.shape[1], ink.shape[0])
    boxes = [w.box for line in layout.lines for w in line.words if w.confidence > 80]
    assert len(boxes) > 20
    inked = [ink[top:bottom, left:right].mean() > 0.05 for left, top, right, bottom in boxes]
    assert sum(inked) / len(inked) > 0.95


def test_seal_mask_widening_is_a_square_max_filter() -> None:
    """Widening the seal mask gives exactly Pillow's 5 × 5 max filter, edges included."""
    rng = np.random.default_rng(0)
    for shape in [(50, 70), (3, 9), (1, 5), (200, 1)]:
        mask = (rng.random(shape) < 0.05) * rng.integers(1, 255, shape)
        pixels = mask.astype(np.uint8)
        expected = np.asarray(Image.fromarray(pixels).filter(ImageFilter.MaxFilter(5)))
        assert np.array_equal(_max_filter(pixels, 2), expected)
