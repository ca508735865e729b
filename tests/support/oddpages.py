"""Bad and odd scans for tests and benchmarks: blank, photo, tiny, 600 dpi, damaged, not images."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, TiffImagePlugin
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from tests.support.degrade import add_noise, blank_page, darken, degrade, fade
from tests.support.pdfs import resolved
from tests.support.scans import A4_MM, corpus_paragraphs, render_page, write_image_pdf

__all__ = [
    "ODD_CASES",
    "OddCase",
    "StoredImage",
    "Written",
    "odd_case",
    "pdf_images",
    "photo_page",
    "run_digitize_command",
    "write_mixed_tiff",
    "write_truncated_jpeg",
]


@dataclass(frozen=True)
class Written:
    inputs: tuple[Path, ...]
    """The files a clerk would hand to ``motcua digitize``, in page order."""

    references: tuple[str, ...] = ()
    """The text rendered on each page ("" for a page without text); empty when the
    case has no text to compare (a photograph, a refused input)."""


@dataclass(frozen=True)
class OddCase:
    name: str
    """Short name of the case, as a table row or a test names it."""

    write: Callable[[Path], Written]
    """Writes the case's input files into a folder (created if missing)."""

    pages: int | None
    """Pages of the valid PDF the case must give, or None when it must be refused."""

    reason: str = ""
    """For a refused case: words the clerk's Vietnamese message must contain."""

    filters: tuple[str, ...] = field(default_factory=tuple)
    """For a valid PDF: the image filter of each page when the case prescribes it."""


@dataclass(frozen=True)
class StoredImage:
    filter: str
    """PDF filter of the page image: "/DCTDecode" (JPEG) or "/CCITTFaxDecode" (G4)."""

    colour_space: str
    """"/DeviceGray" or "/DeviceRGB"."""

    width: int
    """Width in pixels."""

    height: int
    """Height in pixels."""


_ROOT = Path(__file__).resolve().parents[2]
"""The checkout, where ``python -m motcua`` is run from."""


def run_digitize_command(
    inputs: Sequence[Path], out: Path, *, jobs: int = 2, timeout_s: float = 300.0
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m motcua digitize INPUT... -o OUT --jobs N`` as a clerk would.

    The data directory points next to ``out`` (never the checkout's ./var).
    """
    command = [sys.executable, "-m", "motcua", "digitize", *map(str, inputs), "-o", str(out)]
    return subprocess.run(
        [*command, "--jobs", str(jobs)],
        cwd=_ROOT,
        env={**os.environ, "MOTCUA_DATA_DIR": str(out.parent / "motcua-data")},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def pdf_images(path: Path) -> list[StoredImage]:
    """The image each page of a PDF draws (the first image XObject of each page)."""
    found: list[StoredImage] = []
    for page in PdfReader(path).pages:
        for ref in resolved(resolved(page["/Resources"])["/XObject"]).values():
            image = resolved(ref)
            if isinstance(image, DictionaryObject) and image.get("/Subtype") == "/Image":
                filters = resolved(image["/Filter"])
                first = filters if isinstance(filters, str) else filters[0]
                width, height = int(resolved(image["/Width"])), int(resolved(image["/Height"]))
                found.append(StoredImage(str(first), str(image["/ColorSpace"]), width, height))
                break
    return found


def photo_page(*, dpi: int = 200, seed: int = 0) -> Image.Image:
    """An A4 colour photograph: smooth colour gradients, soft shapes and film-grain texture."""
    width = round(A4_MM[0] / 25.4 * dpi)
    height = round(A4_MM[1] / 25.4 * dpi)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y /= height
    x /= width
    sky = np.stack([90 + 120 * y, 140 + 80 * y, 230 - 60 * y + 20 * np.sin(6 * x)], axis=-1)
    picture = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8), "RGB")
    shapes = ImageDraw.Draw(picture)
    for _ in range(14):
        cx, cy = rng.uniform(0, width), rng.uniform(0.3, 1.0) * height
        r = rng.uniform(0.05, 0.25) * width
        colour = tuple(int(c) for c in rng.integers(30, 220, 3))
        shapes.ellipse((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), fill=colour)
    picture = picture.filter(ImageFilter.GaussianBlur(dpi / 20))
    grain = rng.standard_normal((height, width, 1), dtype=np.float32) * np.float32(9)
    textured = np.asarray(picture, dtype=np.float32) + grain
    photo = Image.fromarray(np.clip(textured, 0, 255).astype(np.uint8), "RGB")
    photo.info["dpi"] = (dpi, dpi)
    return photo


def write_mixed_tiff(path: Path, pages: Sequence[Image.Image], *, dpi: int) -> None:
    """Write one TIFF with a frame per page, bilevel frames as G4 and the others deflated.

    That is how scanner software stores a dossier scanned in "auto colour" mode.
    """
    with TiffImagePlugin.AppendingTiffWriter(path, True) as tiff:
        for index, page in enumerate(pages):
            if index:
                tiff.newFrame()
            compression = "group4" if page.mode == "1" else "tiff_deflate"
            page.save(tiff, format="TIFF", compression=compression, dpi=(dpi, dpi))


def write_truncated_jpeg(path: Path, image: Image.Image, *, keep: float = 0.6) -> None:
    """Save ``image`` as JPEG with only the first ``keep`` share of its bytes (a copy cut short)."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, dpi=(300, 300))
    data = buffer.getvalue()
    path.write_bytes(data[: int(len(data) * keep)])


def _text(seed: int, paragraphs: int = 2) -> str:
    """Corpus prose for one page."""
    return "\n".join(corpus_paragraphs(paragraphs, seed=seed))


def _folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _blank_only(folder: Path) -> Written:
    path = _folder(folder) / "trang-trang.jpg"
    blank_page(dpi=300, noise=3, specks=30, seed=4).save(path, quality=85, dpi=(300, 300))
    return Written((path,))


def _blank_among_text(folder: Path) -> Written:
    _folder(folder)
    first, first_text = render_page(_text(31, 1), dpi=300)
    last, last_text = render_page(_text(32, 1), dpi=300)
    pages = (first, blank_page(dpi=300, noise=3, specks=20, seed=6), last)
    paths = tuple(folder / f"trang-{n}.jpg" for n in (1, 2, 3))
    for page, path in zip(pages, paths, strict=True):
        page.save(path, quality=85, dpi=(300, 300))
    return Written(paths, (first_text, "", last_text))


def _photo(folder: Path) -> Written:
    path = _folder(folder) / "anh-chan-dung.jpg"
    photo_page(dpi=200, seed=3).save(path, quality=90, dpi=(200, 200))
    return Written((path,))


def _tiny(folder: Path) -> Written:
    path = _folder(folder) / "anh-nho.jpg"
    photo_page(dpi=30, seed=5).resize((120, 90)).save(path, quality=90, dpi=(72, 72))
    return Written((path,))


def _colour_600(folder: Path) -> Written:
    path = _folder(folder) / "mau-600dpi.jpg"
    image, text = render_page(_text(33, 3), dpi=600, mode="RGB")
    image.save(path, quality=85, dpi=(600, 600))
    return Written((path,), (text,))


def _scan_150(folder: Path) -> Written:
    path = _folder(folder) / "150dpi.jpg"
    image, _ = render_page(_text(34), dpi=300)
    degrade(image, dpi=150).save(path, quality=85, dpi=(150, 150))
    return Written((path,))


def _too_dark(folder: Path) -> Written:
    path = _folder(folder) / "qua-toi.png"
    image, _ = render_page(_text(35), dpi=300)
    darken(image, 60).save(path, dpi=(300, 300))
    return Written((path,))


def _too_faint(folder: Path) -> Written:
    path = _folder(folder) / "qua-mo.png"
    image, _ = render_page(_text(36), dpi=300)
    fade(image, 12).save(path, dpi=(300, 300))
    return Written((path,))


def _faint_with_dust(folder: Path) -> Written:
    path = _folder(folder) / "mo-bui.png"
    image, _ = render_page(corpus_paragraphs(4, seed=9)[0], dpi=300)
    add_noise(fade(image, 14), 4).save(path, dpi=(300, 300))
    return Written((path,))


def _mixed_tiff(folder: Path) -> Written:
    path = _folder(folder) / "ho-so.tif"
    bilevel, first = render_page(_text(37, 1), dpi=300, mode="1")
    grey, second = render_page(_text(38, 1), dpi=300, mode="L")
    write_mixed_tiff(path, [bilevel, grey], dpi=300)
    return Written((path,), (first, second))


def _image_pdf(folder: Path) -> Written:
    path = _folder(folder) / "may-quet.pdf"
    texts = write_image_pdf(path, [_text(39, 1), _text(40, 1)], dpi=300, mode="L")
    return Written((path,), tuple(texts))


def _truncated_jpeg(folder: Path) -> Written:
    path = _folder(folder) / "bi-cat.jpg"
    image, _ = render_page(_text(41), dpi=300)
    write_truncated_jpeg(path, image)
    return Written((path,))


def _not_an_image(folder: Path) -> Written:
    path = _folder(folder) / "don-de-nghi.jpg"
    path.write_text("Đơn đề nghị cấp bản sao trích lục khai sinh\n", encoding="utf-8")
    return Written((path,))


ODD_CASES: tuple[OddCase, ...] = (
    OddCase("blank page only", _blank_only, None, "trang trắng"),
    OddCase("blank page among text", _blank_among_text, 3),
    OddCase("photograph", _photo, 1, filters=("/DCTDecode",)),
    OddCase("tiny image 120x90", _tiny, None, "độ phân giải"),
    OddCase("600 dpi colour A4", _colour_600, 1),
    OddCase("150 dpi scan", _scan_150, None, "150 dpi"),
    OddCase("too dark", _too_dark, None, "quá tối"),
    OddCase("too faint", _too_faint, None, "quá mờ"),
    OddCase("faint, noisy, dusty", _faint_with_dust, None, "quá mờ"),
    OddCase("TIFF bilevel + grey", _mixed_tiff, 2),
    OddCase("image-only PDF", _image_pdf, 2),
    OddCase("truncated JPEG", _truncated_jpeg, None, "bi-cat.jpg"),
    OddCase("not an image", _not_an_image, None, "don-de-nghi.jpg"),
)
"""Every odd case with what it must give: a valid PDF of so many pages, or a refusal."""


def odd_case(name: str) -> OddCase:
    """The case of :data:`ODD_CASES` called ``name``."""
    [case] = [case for case in ODD_CASES if case.name == name]
    return case
