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
