"""Colour kept where it matters: each procedure stores colour, grey or as the page needs."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from pypdf import PdfReader
from pytest_django import DjangoCaptureOnCommitCallbacks

from core.pdfa.check import check_pdfa
from digitize.compression import COLOUR_MODES, encode_image
from digitize.findings import ScanQualityError
from digitize.models import Page
from digitize.oneshot import add_arguments
from digitize.pages import split_pages
from digitize.pipeline import digitize_files
from digitize.quality import QualitySettings, check_pages
from digitize.tasks import prepare_document
from dossiers.models import Document, DocumentState, Dossier
from tests.conftest import DataDirs
from tests.support.degrade import add_seal
from tests.support.oddpages import pdf_images
from tests.support.scans import corpus_paragraphs, render_page
from tests.support.text import cer


@pytest.fixture(scope="module")
def certified_copy() -> tuple[Image.Image, str]:
    """A colour 200 dpi copy with a red seal over its text."""
    page, text = render_page("\n".join(corpus_paragraphs(3, seed=16)), dpi=200, mode="RGB")
    return add_seal(page, seed=5), text


def _redness(image: Image.Image) -> npt.NDArray[np.int16]:
    """How much redder than green and blue each pixel of an image is."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    return np.asarray(rgb[..., 0] - rgb[..., 1:].max(axis=-1), dtype=np.int16)


def _still_red(stored: Image.Image | None, scan: Image.Image) -> float:
    """The share of the scan's seal pixels that are still clearly red in the stored image
    (JPEG, at its quality, pales the seal's thin lines a little)."""
    assert stored is not None
    seal = _redness(scan) > 100
    assert seal.sum() > 2000
    return float((_redness(stored)[seal] > 60).mean())


def test_storage_follows_the_colour_mode(certified_copy: tuple[Image.Image, str]) -> None:
    """A sealed colour page is colour JPEG under auto and colour, 1-bit G4 under grey; a
    colourless colour scan is colour only under colour."""
    sealed, _ = certified_copy
    plain, _ = render_page("\n".join(corpus_paragraphs(3, seed=17)), dpi=200, mode="RGB")
    stored = {
        (name, mode): encode_image(page, colour_mode=mode)
        for name, page in (("sealed", sealed), ("plain", plain))
        for mode in COLOUR_MODES
    }
    kinds = {key: (image.filter, image.colour_space) for key, image in stored.items()}
    colour, g4 = ("/DCTDecode", "/DeviceRGB"), ("/CCITTFaxDecode", "/DeviceGray")
    assert kinds == {
        ("sealed", "auto"): colour,
        ("sealed", "colour"): colour,
        ("sealed", "grey"): g4,
        ("plain", "auto"): g4,
        ("plain", "colour"): colour,
        ("plain", "grey"): g4,
    }
    assert len(stored["sealed", "grey"].data) * 4 < len(stored["sealed", "colour"].data)


def test_red_seal_on_a_certified_copy_stays_red_in_the_pdfa(
    certified_copy: tuple[Image.Image, str], tmp_path: Path
) -> None:
    """Under the colour mode the seal is red in the PDF/A, which passes the check, while the
    text under it is read."""
    sealed, text = certified_copy
    sealed.save(tmp_path / "ban-sao.jpg", quality=90, dpi=(200, 200))
    out = tmp_path / "ban-sao.pdf"
    result = digitize_files(
        [tmp_path / "ban-sao.jpg"], out, quality=QualitySettings(colour_mode="colour")
    )
    assert check_pdfa(out.read_bytes()) == []
    [image] = pdf_images(out)
    assert (image.filter, image.colour_space) == ("/DCTDecode", "/DeviceRGB")
    [stored] = PdfReader(out).pages[0].images
    assert _still_red(stored.image, sealed) > 0.85
    assert cer(text, result.text) < 0.02


@pytest.mark.parametrize(("mode", "how"), [("L", "thang xám"), ("1", "đen trắng")])
def test_colour_procedure_sends_a_grey_or_bilevel_scan_back(
    mode: str, how: str, certified_copy: tuple[Image.Image, str], tmp_path: Path
) -> None:
    """Where the procedure stores colour, a page scanned grey or bilevel is refused before
    any recognition, with the reason; the same scan passes where colour is not asked."""
    sealed, _ = certified_copy
    scan = sealed.convert(mode)
    scan.save(tmp_path / "trang.png", dpi=(200, 200))
    [page] = split_pages([tmp_path / "trang.png"], tmp_path / "work")
    [quality] = check_pages([page], QualitySettings(colour_mode="colour"))
    [finding] = quality.findings
    assert (finding.code, finding.severity) == ("not_colour", "block")
    assert finding.message_vi == (
        "Trang 1: thủ tục này lưu bản màu (bản sao điện tử, giấy tờ có con dấu) nhưng trang "
        f"được quét {how}; đề nghị quét lại ở chế độ màu"
    )
    assert check_pages([page], QualitySettings(colour_mode="auto"))[0].findings == ()
    with pytest.raises(ScanQualityError, match="chế độ màu"):
        digitize_files(
            [tmp_path / "trang.png"],
            tmp_path / "out.pdf",
            quality=QualitySettings(colour_mode="colour"),
        )


def test_command_line_takes_the_colour_mode() -> None:
    """``motcua digitize --colour-mode`` offers the three modes, auto by default."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    command = ["a.jpg", "-o", "b.pdf"]
    assert parser.parse_args(command).colour_mode == "auto"
    assert parser.parse_args([*command, "--colour-mode", "grey"]).colour_mode == "grey"
    with pytest.raises(SystemExit):
        parser.parse_args([*command, "--colour-mode", "sepia"])


def _received(dossier: Dossier, folder: Path) -> Document:
    return Document.objects.create(
        dossier=dossier,
        state=DocumentState.RECEIVED,
        source_dir=str(folder),
        source_sha256="0" * 64,
    )


@pytest.mark.usefixtures("eager_celery")
def test_procedure_colour_mode_reaches_the_stage_tasks(
    data_dirs: DataDirs,
    dossier: Dossier,
    certified_copy: tuple[Image.Image, str],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A procedure set to colour refuses a grey scan with the reason and keeps a colour
    scan's seal red in the PDF sent for approval."""
    procedure = dossier.procedure
    procedure.colour_mode = "colour"
    procedure.save()
    sealed, _ = certified_copy
    grey_folder, colour_folder = data_dirs.intake / "xam", data_dirs.intake / "mau"
    grey_folder.mkdir()
    colour_folder.mkdir()
    sealed.convert("L").save(grey_folder / "trang-1.png", dpi=(200, 200))
    sealed.save(colour_folder / "trang-1.jpg", quality=90, dpi=(200, 200))
    grey, colour = _received(dossier, grey_folder), _received(dossier, colour_folder)

    with django_capture_on_commit_callbacks(execute=True):  # each task sent as it commits
        prepare_document(grey.pk)
        prepare_document(colour.pk)

    grey.refresh_from_db()
    colour.refresh_from_db()
    assert grey.state == DocumentState.FAILED
    assert "đề nghị quét lại ở chế độ màu" in grey.reason
    assert [flag["code"] for flag in Page.objects.get(document=grey).flags] == ["not_colour"]
    assert colour.state == DocumentState.AWAITING_APPROVAL, colour.reason
    [stored] = PdfReader(colour.pdf_path).pages[0].images
    assert _still_red(stored.image, sealed) > 0.85
