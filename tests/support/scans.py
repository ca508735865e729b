"""Synthetic Vietnamese scans for tests: corpus paragraphs rendered as A4 page images."""

from __future__ import annotations

import functools
import io
import random
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import img2pdf
from PIL import Image, ImageDraw, ImageFont

LIBERATION_SERIF = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
"""A Times-compatible serif font with Vietnamese glyphs."""

LIBERATION_SERIF_BOLD = LIBERATION_SERIF.with_name("LiberationSerif-Bold.ttf")
"""The bold face of the serif font, for the headings of an official form."""

CORPUS = Path(__file__).resolve().parents[1] / "data" / "vi_onestop.txt"
"""The team's own Vietnamese one-stop documents, NFC, one paragraph a line."""

A4_MM = (210.0, 297.0)
"""A4 page size in millimetres."""

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


@functools.cache
def _paragraph_pool(min_chars: int, max_chars: int) -> tuple[str, ...]:
    """Corpus paragraphs between the bounds; longer ones cut into runs of whole sentences."""
    raw = unicodedata.normalize("NFC", CORPUS.read_text(encoding="utf-8"))
    pool: list[str] = []
    for line in raw.splitlines():
        paragraph = " ".join(line.split())
        if len(paragraph) < min_chars:
            continue
        if len(paragraph) <= max_chars:
            pool.append(paragraph)
            continue
        chunk = ""
        for sentence in _SENTENCE_END.split(paragraph):
            candidate = f"{chunk} {sentence}".strip()
            if len(candidate) <= max_chars:
                chunk = candidate
                continue
            if len(chunk) >= min_chars:
                pool.append(chunk)
            chunk = sentence if len(sentence) <= max_chars else ""
        if min_chars <= len(chunk) <= max_chars:
            pool.append(chunk)
    if not pool:
        raise ValueError(f"no paragraph of {min_chars}-{max_chars} characters in {CORPUS}")
    return tuple(pool)


def corpus_paragraphs(
    n: int, *, seed: int = 0, min_chars: int = 150, max_chars: int = 600
) -> list[str]:
    """Return ``n`` NFC paragraphs of the corpus, chosen deterministically from ``seed``.

    Paragraphs longer than ``max_chars`` contribute runs of whole sentences; the
    choice cycles through the pool when ``n`` exceeds it.
    """
    pool = list(_paragraph_pool(min_chars, max_chars))
    random.Random(seed).shuffle(pool)
    return [pool[i % len(pool)] for i in range(n)]


def _wrap(paragraph: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Break one paragraph into lines no wider than ``width`` (a long word gets its own line)."""
    lines: list[str] = []
    current = ""
    for word in paragraph.split():
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def render_page(
    text: str,
    *,
    dpi: int = 300,
    font_size_pt: float = 12,
    font: Path = LIBERATION_SERIF,
    mode: str = "L",
    margin_in: float = 1.0,
) -> tuple[Image.Image, str]:
    """Render ``text`` on an A4 page image and return it with the text that fit.

    Paragraphs (separated by newlines) are word-wrapped inside the margins; lines
    that would pass the bottom margin are dropped. The returned text is the
    rendered lines joined by newlines. ``mode`` is "1", "L" or "RGB"; the image
    carries its resolution in ``info["dpi"]``.
    """
    if mode not in {"1", "L", "RGB"}:
        raise ValueError(f"unsupported mode {mode!r}")
    width = round(A4_MM[0] / 25.4 * dpi)
    height = round(A4_MM[1] / 25.4 * dpi)
    margin = round(margin_in * dpi)
    face = ImageFont.truetype(str(font), size=font_size_pt * dpi / 72)
    ascent, descent = face.getmetrics()
    line_height = round((ascent + descent) * 1.15)

    canvas = Image.new("RGB" if mode == "RGB" else "L", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    ink = (20, 20, 30) if mode == "RGB" else 0
    rendered: list[str] = []
    y = margin
    full = False
    for paragraph in unicodedata.normalize("NFC", text).split("\n"):
        for line in _wrap(paragraph, face, width - 2 * margin):
            if y + line_height > height - margin:
                full = True
                break
            draw.text((margin, y), line, font=face, fill=ink)
            rendered.append(line)
            y += line_height
        if full:
            break
        y += line_height // 2
    image = canvas.point(lambda v: 255 if v > 140 else 0).convert("1") if mode == "1" else canvas
    image.info["dpi"] = (dpi, dpi)
    return image, "\n".join(rendered)


def certificate_form(*, dpi: int = 300, rows: int = 8) -> tuple[Image.Image, str]:
    """A one-stop certificate: two-column heading, title, fields, a ruled table, signature block.

    Its bold heading and table rules are what trips a text-line profile, so it
    complements the prose pages of :func:`tests.support.scans.render_page`.
    Returns the grey A4 page (dpi recorded) and its text in reading order.
    """
    width = round(A4_MM[0] / 25.4 * dpi)
    height = round(A4_MM[1] / 25.4 * dpi)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    size = round(13 * dpi / 72)
    regular = ImageFont.truetype(str(LIBERATION_SERIF), size=size)
    bold = ImageFont.truetype(str(LIBERATION_SERIF_BOLD), size=size)
    lines: list[str] = []

    def write(xy: tuple[float, float], text: str, font: ImageFont.FreeTypeFont) -> None:
        draw.text(xy, text, font=font, fill=0)
        lines.append(text)

    inch = dpi
    write((0.8 * inch, 0.7 * inch), "ỦY BAN NHÂN DÂN", bold)
    write((width / 2, 0.7 * inch), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold)
    write((0.8 * inch, 0.95 * inch), "XÃ TÂN LẬP", bold)
    write((width / 2 + 0.4 * inch, 0.95 * inch), "Độc lập - Tự do - Hạnh phúc", bold)
    write((width / 2 - 1.6 * inch, 1.6 * inch), "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", bold)
    y = 2.2 * inch
    for field in (
        "Họ, chữ đệm, tên: Nguyễn Thị Hồng",
        "Ngày, tháng, năm sinh: 12/03/1990",
        "Nơi cư trú: thôn Đông, xã Tân Lập",
    ):
        write((inch, y), field, regular)
        y += 0.35 * inch
    columns = (inch, 2.2 * inch, 5.2 * inch, width - inch)
    top, pitch = y + 0.2 * inch, 0.4 * inch
    rule = max(1, round(dpi / 100))
    for row in range(rows + 1):
        draw.line((columns[0], top + row * pitch, columns[-1], top + row * pitch), 0, rule)
    for x in columns:
        draw.line((x, top, x, top + rows * pitch), 0, rule)
    for row in range(rows):
        cell_y = top + row * pitch + 0.08 * inch
        write((columns[0] + 0.07 * inch, cell_y), str(row + 1), regular)
        write((columns[1] + 0.07 * inch, cell_y), "Giấy tờ kèm theo", regular)
        write((columns[2] + 0.07 * inch, cell_y), "Bản sao", regular)
    y = top + rows * pitch + 0.5 * inch
    write((width / 2 + 0.5 * inch, y), "TM. ỦY BAN NHÂN DÂN", bold)
    write((width / 2 + 0.9 * inch, y + 0.25 * inch), "CHỦ TỊCH", bold)
    page.info["dpi"] = (dpi, dpi)
    return page, "\n".join(lines)


ISSUE_LINE = "Cộng hòa xã hội chủ nghĩa Việt Nam độc lập tự do hạnh phúc"
"""The words repeated on every line of :func:`repeated_lines_page`."""

_PAPER = "Bản sao giấy khai sinh"
"""The paper every row of a table or list of :func:`aligned_page` names."""

_FIELDS = ("Họ, chữ đệm và tên:", "Ngày, tháng, năm sinh:", "Quan hệ với chủ hộ:")
"""Labels repeated for each member of a household on a form."""


def _canvas(dpi: int, mode: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A white A4 page in ``mode`` ("L" or "RGB") and a pen on it."""
    size = (round(A4_MM[0] / 25.4 * dpi), round(A4_MM[1] / 25.4 * dpi))
    page = Image.new(mode, size, "white")
    page.info["dpi"] = (dpi, dpi)
    return page, ImageDraw.Draw(page)


def repeated_lines_page(
    *, lines: int = 40, font_px: int = 48, dpi: int = 300, mode: str = "RGB"
) -> tuple[Image.Image, str]:
    """The clean page that tempted the line profile into a quarter turn: ``lines`` lines of
    :data:`ISSUE_LINE` and their number, ``font_px`` px Liberation Serif, one under the
    other, and a red circle at the lower right. ``mode`` "RGB" (colour) or "L" (grey)."""
    page, draw = _canvas(dpi, "RGB")
    face = ImageFont.truetype(str(LIBERATION_SERIF), size=font_px)
    rendered = []
    for number in range(1, lines + 1):
        rendered.append(f"{ISSUE_LINE} {number}")
        draw.text(
            (dpi // 2, dpi // 2 + (number - 1) * round(font_px * 1.55)),
            rendered[-1],
            font=face,
            fill=(0, 0, 0),
        )
    right, bottom = page.width - round(0.7 * dpi), page.height - round(0.7 * dpi)
    circle = (right - round(1.6 * dpi), bottom - round(1.6 * dpi), right, bottom)
    draw.ellipse(circle, outline=(220, 30, 30), width=max(2, dpi // 25))
    grey = page.convert("L") if mode == "L" else page
    grey.info["dpi"] = (dpi, dpi)
    return grey, "\n".join(rendered)


def aligned_page(kind: str, *, dpi: int = 300, rows: int = 30) -> tuple[Image.Image, str]:
    """A grey page of aligned text, where the columns line up nearly as sharply as the lines.

    ``kind`` is "table" (a ruled table: number, paper, copies, kind, the same words row
    after row), "list" (numbered items, the same words after each number) or "form" (a
    household form: the same three labels again and again, dotted leaders on one grid).
    """
    page, draw = _canvas(dpi, "L")
    size = round(12 * dpi / 72)
    face = ImageFont.truetype(str(LIBERATION_SERIF), size=size)
    bold = ImageFont.truetype(str(LIBERATION_SERIF_BOLD), size=size)
    written: list[str] = []
    pitch = round(size * 1.55)
    left, y = dpi, dpi

    def write(x: float, text: str, font: ImageFont.FreeTypeFont = face) -> None:
        draw.text((x, y), text, font=font, fill=0)
        written.append(text)

    write(left, "DANH MỤC GIẤY TỜ TRONG HỒ SƠ", bold)
    y += 2 * pitch
    if kind == "table":
        columns = (left, left + 0.5 * dpi, left + 3.3 * dpi, left + 4.4 * dpi)
        for row in range(rows):
            cells = (str(row + 1), _PAPER, "01 bản", "Bản chính")
            for x, cell in zip(columns, cells, strict=True):
                write(x + 0.06 * dpi, cell)
            y += pitch
        top, rule = dpi + 2 * pitch - pitch // 4, max(1, dpi // 100)
        for row in range(rows + 1):
            draw.line((left, top + row * pitch, page.width - dpi, top + row * pitch), 0, rule)
        for x in (*columns, page.width - dpi):
            draw.line((x, top, x, top + rows * pitch), 0, rule)
    elif kind == "list":
        for row in range(rows):
            write(left, f"{row + 1}. {_PAPER}: 01 bản sao có chứng thực")
            y += pitch
    elif kind == "form":
        dot = face.getlength(".")
        for row in range(rows):
            label = _FIELDS[row % len(_FIELDS)]
            write(left, label)
            start = left + 2.2 * dpi
            draw.text((start, y), "." * int((page.width - dpi - start) // dot), font=face, fill=0)
            y += pitch
    else:
        raise ValueError(f"unknown aligned page {kind!r}")
    return page, "\n".join(written)


def _save(image: Image.Image, path: Path, dpi: int, quality: int) -> None:
    """Save ``image`` in the format named by the suffix of ``path``, recording ``dpi``."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        image.save(path, format="PNG", dpi=(dpi, dpi))
    elif suffix in {".jpg", ".jpeg"}:
        image.save(path, format="JPEG", dpi=(dpi, dpi), quality=quality)
    elif suffix in {".tif", ".tiff"}:
        compression = "group4" if image.mode == "1" else "tiff_deflate"
        image.save(path, format="TIFF", dpi=(dpi, dpi), compression=compression)
    else:
        raise ValueError(f"unsupported scan suffix {suffix!r}")


def write_scan(path: Path, text: str, *, quality: int = 90, **kw: Any) -> str:
    """Render ``text`` (keywords as for :func:`render_page`) and save it at ``path``.

    The format follows the suffix (.png, .jpg/.jpeg, .tif/.tiff; bilevel TIFFs use
    CCITT G4). Returns the text as rendered.
    """
    image, rendered = render_page(text, **kw)
    _save(image, path, int(kw.get("dpi", 300)), quality)
    return rendered


def write_multipage_tiff(path: Path, texts: Sequence[str], **kw: Any) -> list[str]:
    """Write one TIFF with a page per text (keywords as for :func:`render_page`)."""
    rendered = [render_page(text, **kw) for text in texts]
    images = [image for image, _ in rendered]
    mode = images[0].mode
    compression = "group4" if mode == "1" else "tiff_deflate"
    dpi = int(kw.get("dpi", 300))
    images[0].save(
        path,
        format="TIFF",
        save_all=True,
        append_images=images[1:],
        dpi=(dpi, dpi),
        compression=compression,
    )
    return [text for _, text in rendered]


def write_image_pdf(path: Path, texts: Sequence[str], **kw: Any) -> list[str]:
    """Write an image-only PDF with a page per text, sized from the render dpi.

    Grey and colour pages are embedded as JPEG, bilevel pages as CCITT G4.
    """
    dpi = int(kw.get("dpi", 300))
    blobs: list[bytes] = []
    rendered: list[str] = []
    for text in texts:
        image, fit = render_page(text, **kw)
        buffer = io.BytesIO()
        if image.mode == "1":
            image.save(buffer, format="TIFF", dpi=(dpi, dpi), compression="group4")
        else:
            image.save(buffer, format="JPEG", dpi=(dpi, dpi), quality=85)
        blobs.append(buffer.getvalue())
        rendered.append(fit)
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    path.write_bytes(img2pdf.convert(blobs, layout_fun=layout))
    return rendered
