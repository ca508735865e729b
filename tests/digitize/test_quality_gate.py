"""The scan-quality gate: resolution, blank, dark and faint pages, and what each one blocks."""

from __future__ import annotations

import pickle
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pytest_django import DjangoCaptureOnCommitCallbacks

from digitize.findings import Finding, ScanQualityError, blocking, blocking_reason
from digitize.models import Page
from digitize.pages import split_pages
from digitize.pipeline import digitize_files
from digitize.quality import PageQuality, check_pages, confidence_findings
from digitize.tasks import prepare_document
from dossiers.models import Document, DocumentState, Dossier, Event
from tests.conftest import DataDirs
from tests.support.degrade import add_noise, blank_page, darken, degrade, fade
from tests.support.scans import corpus_paragraphs, render_page

Gate = Callable[..., list[PageQuality]]


@pytest.fixture(scope="module")
def text_page() -> Image.Image:
    """A clean 300 dpi grey A4 page of Vietnamese prose."""
    image, _ = render_page("\n".join(corpus_paragraphs(3, seed=21)), dpi=300)
    return image


@pytest.fixture()
def gate(tmp_path: Path) -> Gate:
    """Save page images as PNG scans, split them as the pipeline does, and run the gate."""
    counter = iter(range(1, 1000))

    def run(*images: Image.Image) -> list[PageQuality]:
        paths = []
        for image in images:
            dpi = round(float(image.info.get("dpi", (300, 300))[0]))
            path = tmp_path / f"scan-{next(counter)}.png"
            image.save(path, dpi=(dpi, dpi), compress_level=1)
            paths.append(path)
        return check_pages(split_pages(paths, tmp_path / f"work-{next(counter)}"))

    return run


def _codes(quality: PageQuality) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in quality.findings]


def test_clean_page_passes_without_findings(gate: Gate, text_page: Image.Image) -> None:
    """A well-exposed 300 dpi text page has no findings and keeps its recorded resolution."""
    [quality] = gate(text_page)
    assert quality.findings == ()
    assert quality.effective_dpi == 300
    assert quality.levels.contrast > 200


def test_low_resolution_blocks_with_the_rule_in_vietnamese(
    gate: Gate, text_page: Image.Image
) -> None:
    """A page scanned at 150 dpi is blocked with the clerk's reason naming 150 and 200 dpi."""
    [quality] = gate(degrade(text_page, dpi=150))
    [finding] = quality.findings
    assert (finding.code, finding.severity, finding.page) == ("low_resolution", "block", 1)
    assert finding.message_vi == (
        "Trang 1: độ phân giải 150 dpi, thấp hơn mức tối thiểu 200 dpi; đề nghị quét lại"
    )
    assert finding.value == 150


def test_two_hundred_dpi_is_enough(gate: Gate, text_page: Image.Image) -> None:
    """A page at exactly 200 dpi meets the rule for digitized copies."""
    [quality] = gate(degrade(text_page, dpi=200))
    assert quality.findings == ()


def test_implausibly_small_page_is_measured_as_a4(gate: Gate, text_page: Image.Image) -> None:
    """An A4 page 600 px wide that records 300 dpi is taken as about 73 dpi and blocked."""
    tiny = text_page.resize((600, round(600 * text_page.height / text_page.width)))
    tiny.info["dpi"] = (300, 300)
    [quality] = gate(tiny)
    assert _codes(quality) == [("implausible_scale", "warn"), ("low_resolution", "block")]
    a4_dpi = round(600 / (210 / 25.4))  # 600 px across the short side of A4
    assert quality.effective_dpi == a4_dpi
    assert f"khoảng {a4_dpi} dpi" in quality.findings[1].message_vi
    assert "không giống khổ giấy hồ sơ" in quality.findings[0].message_vi


def test_photo_recording_72_dpi_gets_its_real_resolution(
    gate: Gate, text_page: Image.Image
) -> None:
    """A full-size A4 photo that records 72 dpi is not blocked: its resolution is estimated."""
    photo = text_page.copy()
    photo.info["dpi"] = (72, 72)
    [quality] = gate(photo)
    assert _codes(quality) == [("implausible_scale", "warn")]
    assert quality.effective_dpi == 300


def test_single_blank_page_blocks(gate: Gate) -> None:
    """A document whose only page is blank paper with dust is blocked as having no content."""
    [quality] = gate(blank_page(dpi=200, noise=4, specks=40, seed=2))
    assert _codes(quality) == [("blank", "block")]
    assert quality.blank
    assert quality.findings[0].message_vi.startswith("Trang 1: trang trắng")
    assert "cả hồ sơ không có trang nào có nội dung" in quality.findings[0].message_vi


def test_blank_page_among_text_pages_only_warns(gate: Gate, text_page: Image.Image) -> None:
    """A blank back side in a dossier with content is flagged for review, not blocked."""
    first, second = gate(text_page, blank_page(dpi=200, seed=3))
    assert first.findings == ()
    assert _codes(second) == [("blank", "warn")]
    assert second.findings[0].message_vi == "Trang 2: trang trắng, không có nội dung"


def test_page_with_a_page_number_only_is_nearly_blank(gate: Gate) -> None:
    """A page holding only a page number is flagged as nearly blank, not as blank."""
    image, _ = render_page("Trang 2", dpi=300)
    [quality] = gate(image)
    assert _codes(quality) == [("near_blank", "warn")]
    assert "gần như trắng" in quality.findings[0].message_vi


def test_too_dark_page_blocks(gate: Gate, text_page: Image.Image) -> None:
    """A page whose paper came out at grey level 70 is blocked as too dark."""
    [quality] = gate(darken(text_page, 70))
    assert _codes(quality) == [("too_dark", "block")]
    assert "quá tối" in quality.findings[0].message_vi


def test_dim_page_only_warns(gate: Gate, text_page: Image.Image) -> None:
    """A page whose paper is grey level 130 still reads, so it is only flagged as dark."""
    [quality] = gate(darken(text_page, 130))
    assert _codes(quality) == [("dark", "warn")]


def test_too_faint_page_blocks(gate: Gate, text_page: Image.Image) -> None:
    """Ink only 16 grey levels under noisy paper cannot be read and blocks the document."""
    [quality] = gate(add_noise(fade(text_page, 16), 4))
    assert _codes(quality) == [("too_faint", "block")]
    assert "chữ quá mờ" in quality.findings[0].message_vi


@pytest.mark.parametrize("seed", [9, 21])
def test_faint_page_with_dust_still_blocks(gate: Gate, seed: int) -> None:
    """Ink 14 levels under the paper blocks even when darker specks of dust dot the page."""
    page, _ = render_page(corpus_paragraphs(4, seed=seed)[0], dpi=300)
    [quality] = gate(add_noise(fade(page, 14), 4))
    assert _codes(quality) == [("too_faint", "block")]
    assert quality.levels.contrast < 20


def test_faint_but_legible_page_only_warns(gate: Gate, text_page: Image.Image) -> None:
    """Ink 40 grey levels under the paper is flagged as faint for the review."""
    [quality] = gate(fade(text_page, 40))
    assert _codes(quality) == [("faint", "warn")]
    assert quality.findings[0].message_vi.startswith("Trang 1: chữ mờ")


def test_low_confidence_is_a_review_warning() -> None:
    """A mean OCR confidence under 70 is flagged for the official; a blank page's is not."""
    [finding] = confidence_findings(3, 55.4)
    assert (finding.code, finding.severity, finding.page) == ("low_confidence", "warn", 3)
    assert "Trang 3" in finding.message_vi and "55" in finding.message_vi
    assert confidence_findings(3, 91.0) == []
    assert confidence_findings(3, 0.0, blank=True) == []


def test_findings_round_trip_through_json_data() -> None:
    """A finding stored as a page's flags comes back equal."""
    finding = Finding("faint", "warn", 2, "Trang 2: chữ mờ", 41.0)
    assert Finding.from_dict(finding.as_dict()) == finding


def test_quality_error_carries_every_blocking_reason() -> None:
    """The error lists each blocking finding on its own line, quarantines, and pickles whole."""
    findings = [
        Finding("low_resolution", "block", 1, "Trang 1: độ phân giải 150 dpi"),
        Finding("blank", "warn", 2, "Trang 2: trang trắng"),
        Finding("too_dark", "block", 3, "Trang 3: ảnh quét quá tối"),
    ]
    error = ScanQualityError(blocking(findings))
    assert error.message_vi == "Trang 1: độ phân giải 150 dpi\nTrang 3: ảnh quét quá tối"
    assert error.message_vi == blocking_reason(findings)
    assert error.disposition == "quarantine"
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ScanQualityError)
    assert (copy.message_vi, copy.findings) == (error.message_vi, error.findings)


def _no_tesseract(calls: list[str]) -> Callable[..., Any]:
    real = subprocess.run

    def run(command: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(command, list | tuple) and "tesseract" in str(command[0]):
            calls.append(" ".join(map(str, command)))
        return real(command, *args, **kwargs)

    return run


def test_digitize_files_stops_before_ocr_on_a_blocking_finding(
    tmp_path: Path, text_page: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 150 dpi scan raises the quality error before any Tesseract run and writes no PDF."""
    scan = degrade(text_page, dpi=150)
    scan.save(tmp_path / "a.png", dpi=(150, 150))
    calls: list[str] = []
    monkeypatch.setattr(subprocess, "run", _no_tesseract(calls))
    with pytest.raises(ScanQualityError, match="150 dpi") as caught:
        digitize_files([tmp_path / "a.png"], tmp_path / "out.pdf")
    assert [f.code for f in caught.value.findings] == ["low_resolution"]
    assert calls == []
    assert not (tmp_path / "out.pdf").exists()


def test_digitize_files_reports_warnings_with_the_result(tmp_path: Path) -> None:
    """A text page and a blank page are digitized; the blank one is a finding of the result."""
    page, _ = render_page("Giấy biên nhận hồ sơ và hẹn trả kết quả.", dpi=200)
    page.save(tmp_path / "1.png", dpi=(200, 200))
    blank_page(dpi=200, seed=5).save(tmp_path / "2.png", dpi=(200, 200))
    result = digitize_files([tmp_path / "1.png", tmp_path / "2.png"], tmp_path / "out.pdf")
    assert result.pages == 2
    assert [(f.page, f.code, f.severity) for f in result.findings] == [(2, "blank", "warn")]
    assert result.rotations == (0, 0)


def _received(dossier: Dossier, folder: Path) -> Document:
    return Document.objects.create(
        dossier=dossier,
        state=DocumentState.RECEIVED,
        source_dir=str(folder),
        source_sha256="0" * 64,
    )


@pytest.mark.usefixtures("eager_celery")
def test_task_fails_a_low_resolution_document_with_the_reason(
    data_dirs: DataDirs, dossier: Dossier, text_page: Image.Image
) -> None:
    """The stage task fails a 150 dpi document before OCR, in Vietnamese, keeping the flags."""
    folder = data_dirs.intake / "ho-so-150"
    folder.mkdir()
    degrade(text_page, dpi=150).save(folder / "trang-1.png", dpi=(150, 150))
    document = _received(dossier, folder)

    prepare_document(document.pk)

    document.refresh_from_db()
    assert document.state == DocumentState.FAILED
    assert document.reason == (
        "Trang 1: độ phân giải 150 dpi, thấp hơn mức tối thiểu 200 dpi; đề nghị quét lại"
    )
    assert Path(document.source_dir).is_relative_to(data_dirs.failed)
    page = Page.objects.get(document=document)
    assert not page.done
    assert [flag["code"] for flag in page.flags] == ["low_resolution"]
    event = Event.objects.get(document=document, kind="failed")
    assert event.detail == {
        "stage": "quality",
        "disposition": "quarantine",
        "findings": [{"page": 1, "code": "low_resolution"}],
    }
    # A redelivered message fails nothing twice and runs no OCR.
    prepare_document(document.pk)
    assert Event.objects.filter(document=document, kind="failed").count() == 1


@pytest.mark.usefixtures("eager_celery")
def test_task_stores_soft_findings_and_sends_for_approval(
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A blank back page is stored as a page flag and the document still awaits approval."""
    folder = data_dirs.intake / "ho-so-trang-trang"
    folder.mkdir()
    page, _ = render_page("Ủy ban nhân dân xã Tân Lập xác nhận hồ sơ đã đủ.", dpi=200)
    page.save(folder / "trang-1.png", dpi=(200, 200))
    blank_page(dpi=200, seed=8).save(folder / "trang-2.png", dpi=(200, 200))
    document = _received(dossier, folder)

    with django_capture_on_commit_callbacks(execute=True):  # each task sent as it commits
        prepare_document(document.pk)

    document.refresh_from_db()
    assert document.state == DocumentState.AWAITING_APPROVAL, document.reason
    first, second = Page.objects.filter(document=document).order_by("index")
    assert first.flags == []
    assert [(f["code"], f["severity"]) for f in second.flags] == [("blank", "warn")]
    assert first.rotation == 0 and abs(first.skew) < 0.2
    digitized = Event.objects.get(document=document, kind="digitized")
    assert digitized.detail["flagged_pages"] == [2]
