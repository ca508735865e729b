"""Scanned stacks for tests: real receipts and separators rasterised at 200 dpi, page marks."""

from __future__ import annotations

import hashlib
import io
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import img2pdf
from PIL import Image, ImageDraw, ImageFont

from digitize.pdf_pages import pdf_pages
from dossiers.receipt import ReceiptData, render_receipt, render_separator
from tests.support.scans import LIBERATION_SERIF

DPI = 200
LOOKUP_URL = "http://127.0.0.1:8000/tra-cuu/"


def rasterise(pdf: bytes, dpi: int = DPI) -> Image.Image:
    """The first page of a PDF as a grey image, as a scanner at ``dpi`` would see it."""
    png = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    image = Image.open(io.BytesIO(png)).convert("L")
    image.load()
    return image


def receipt_page(code: str, dpi: int = DPI) -> Image.Image:
    """A dossier's receipt from the real renderer, scanned."""
    now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    data = ReceiptData(
        dossier_code=code,
        office_name="UBND xã Thử Nghiệm",
        procedure_name="Đăng ký khai sinh",
        applicant_name="Trần Thị Bình",
        received_at=now,
        due_at=now + timedelta(days=3),
        lookup_secret="ABCDEFGHJKLMNPQRSTUVWXYZ23456789",
        lookup_url=LOOKUP_URL,
    )
    return rasterise(render_receipt(data), dpi)


def separator_page(code: str = "", dpi: int = DPI) -> Image.Image:
    """A separator sheet from the real renderer, scanned."""
    return rasterise(render_separator(code, "UBND xã Thử Nghiệm"), dpi)


def content_page(label: str, dpi: int = DPI) -> Image.Image:
    """An ordinary A4 page with a few lines of text naming it (so each page differs)."""
    width, height = round(210 / 25.4 * dpi), round(297 / 25.4 * dpi)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    face = ImageFont.truetype(str(LIBERATION_SERIF), size=14 * dpi / 72)
    for line in range(12):
        draw.text((dpi, dpi + line * dpi // 3), f"Giấy tờ {label} — dòng {line + 1}", font=face)
    return page


def faint(image: Image.Image, ink: int = 236) -> Image.Image:
    """A page scanned far too light: black becomes ``ink``, white stays white."""
    return image.point(lambda v: ink + v * (255 - ink) // 255)


def upside_down(image: Image.Image) -> Image.Image:
    return image.rotate(180)


def jpeg(image: Image.Image, dpi: int = DPI) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=70, dpi=(dpi, dpi))
    return buffer.getvalue()


def jpeg_mark(image: Image.Image, dpi: int = DPI) -> str:
    """The fingerprint of a page once it is in a batch PDF (JPEG, as scanners write)."""
    with Image.open(io.BytesIO(jpeg(image, dpi))) as decoded:
        return mark(decoded)


def write_stack_pdf(path: Path, pages: Sequence[Image.Image], dpi: int = DPI) -> None:
    """An image-only batch PDF, one JPEG a page, as a sheet-fed scanner writes it."""
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    data = img2pdf.convert([jpeg(p, dpi) for p in pages], layout_fun=layout)
    temp = path.with_name(path.name + ".part")
    temp.write_bytes(data)
    temp.rename(path)


def write_stack_tiff(path: Path, pages: Sequence[Image.Image], dpi: int = DPI) -> None:
    """A multi-page TIFF batch."""
    temp = path.with_name(path.name + ".part")
    pages[0].save(
        temp,
        format="TIFF",
        save_all=True,
        append_images=list(pages[1:]),
        dpi=(dpi, dpi),
        compression="tiff_deflate",
    )
    temp.rename(path)


def mark(image: Image.Image) -> str:
    """A short fingerprint of a page's pixels, to follow it from the stack to its document."""
    return hashlib.sha256(image.convert("L").tobytes()).hexdigest()[:16]


def pdf_marks(path: Path) -> list[str]:
    """The fingerprints of a PDF's pages, decoded as the digitizer decodes them."""
    return [mark(image) for image, _dpi in pdf_pages(path)]


def folder_marks(folder: Path) -> list[str]:
    """The fingerprints of every page in a document's folder (PDFs and images), in order."""
    marks: list[str] = []
    for path in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        if path.suffix.lower() == ".pdf":
            marks += pdf_marks(path)
        else:
            with Image.open(path) as image:
                marks.append(mark(image))
    return marks
