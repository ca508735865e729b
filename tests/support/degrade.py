"""Scan degradations for tests and benchmarks: skew, turns, noise, JPEG, seals, bad exposure."""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests.support.scans import A4_MM, corpus_paragraphs, render_page

__all__ = [
    "HARD_JPEG_QUALITY",
    "HARD_NOISE",
    "HARD_SET",
    "SEAL_FONT",
    "SEAL_RED",
    "SIGNATURE_BLUE",
    "HardPage",
    "add_noise",
    "add_seal",
    "add_signature",
    "blank_page",
    "darken",
    "degrade",
    "fade",
    "jpeg_artefacts",
    "resample_dpi",
    "rotate_page",
    "skew",
    "write_hard_scan",
]

SEAL_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
"""A bold sans font with Vietnamese capitals, as carved on official seals."""

SEAL_RED = (205, 35, 45)
"""Ink colour of a red seal (con dấu)."""

SIGNATURE_BLUE = (25, 45, 160)
"""Ink colour of a ballpoint signature."""

_WHITE = 255


def _dpi(image: Image.Image, default: int = 300) -> int:
    """The resolution an image records (the first axis), or ``default``."""
    value = image.info.get("dpi")
    if isinstance(value, tuple) and value:
        return round(float(value[0]))
    return default


def _with_dpi(image: Image.Image, dpi: int) -> Image.Image:
    """Record ``dpi`` on ``image`` (in place) and return it."""
    image.info["dpi"] = (dpi, dpi)
    return image


def _editable(image: Image.Image) -> Image.Image:
    """A grey or colour copy of ``image`` that can be resampled smoothly ("1" becomes "L")."""
    return image.convert("L") if image.mode == "1" else image.copy()


def skew(image: Image.Image, degrees: float) -> Image.Image:
    """Tilt the page content ``degrees`` counter-clockwise on a same-size canvas, white fill."""
    dpi = _dpi(image)
    source = _editable(image)
    fill: int | tuple[int, int, int] = (_WHITE, _WHITE, _WHITE) if source.mode == "RGB" else _WHITE
    tilted = source.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=fill)
    return _with_dpi(tilted, dpi)


def rotate_page(image: Image.Image, clockwise: int) -> Image.Image:
    """Turn the page ``clockwise`` degrees (0, 90, 180 or 270), as if laid so on the scanner."""
    turns = {
        0: None,
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }
    if clockwise % 360 not in turns:
        raise ValueError(f"rotation must be a multiple of 90, not {clockwise}")
    transpose = turns[clockwise % 360]
    turned = image.copy() if transpose is None else image.transpose(transpose)
    return _with_dpi(turned, _dpi(image))


def resample_dpi(image: Image.Image, dpi: int) -> Image.Image:
    """Rescan the page at ``dpi``: resample the pixels and record the new resolution."""
    source_dpi = _dpi(image)
    size = (
        max(1, round(image.width * dpi / source_dpi)),
        max(1, round(image.height * dpi / source_dpi)),
    )
    return _with_dpi(_editable(image).resize(size, Image.Resampling.LANCZOS), dpi)


def add_noise(image: Image.Image, sigma: float, *, seed: int = 0) -> Image.Image:
    """Add Gaussian sensor noise of ``sigma`` grey levels and a sprinkle of dust specks."""
    dpi = _dpi(image)
    source = _editable(image)
    rng = np.random.default_rng(seed)
    pixels = np.asarray(source, dtype=np.float32)
    noisy = pixels + rng.standard_normal(pixels.shape, dtype=np.float32) * np.float32(sigma)
    specks = rng.random(pixels.shape[:2], dtype=np.float32) < sigma * 2e-5
    noisy[specks] = 30.0
    return _with_dpi(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), source.mode), dpi)


def jpeg_artefacts(image: Image.Image, quality: int) -> Image.Image:
    """Round-trip the page through JPEG at ``quality`` (1-95), keeping its mode and dpi."""
    dpi = _dpi(image)
    buffer = io.BytesIO()
    _editable(image).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        decoded.load()
        return _with_dpi(decoded.copy(), dpi)


def _multiply(page: Image.Image, ink: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    """Print ``ink`` (an "L" coverage mask, 255 = full ink) in ``colour`` over an RGB page.

    Only the box around the ink is recomputed, so a seal on a full page stays cheap.
    """
    box = ink.getbbox()
    if box is None:
        return page
    base = np.asarray(page.crop(box), dtype=np.float32) / 255.0
    cover = np.asarray(ink.crop(box), dtype=np.float32)[..., None] / 255.0
    tint = np.asarray(colour, dtype=np.float32) / 255.0
    printed = base * (1.0 - cover + cover * tint)
    result = page.copy()
    result.paste(
        Image.fromarray(np.clip(printed * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB"), box[:2]
    )
    return result


def _text_centre(image: Image.Image) -> tuple[float, float]:
    """A point inside the page's text block (the middle of its dark pixels' bounding box)."""
    grey = np.asarray(image.convert("L"))
    rows = np.flatnonzero((grey < 128).any(axis=1))
    cols = np.flatnonzero((grey < 128).any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return image.width / 2, image.height / 2
    return (cols[0] + cols[-1]) / 2, (rows[0] + rows[-1]) / 2


def add_seal(
    image: Image.Image,
    *,
    centre: tuple[float, float] | None = None,
    radius_in: float = 0.8,
    text: str = "ỦY BAN NHÂN DÂN XÃ TÂN LẬP * HUYỆN XUÂN LỘC *",
    seed: int = 0,
) -> Image.Image:
    """Stamp a round red seal (double ring, text round the rim, star) over the page.

    ``centre`` is in pixels (default: the middle of the text block, so the seal
    covers text); the ink is multiplied onto the page, so black text under it stays
    black, and its density varies a little, as a rubber stamp's does. Returns RGB.
    """
    dpi = _dpi(image)
    page = image.convert("RGB")
    rng = random.Random(seed)
    cx, cy = centre if centre is not None else _text_centre(page)
    radius = radius_in * dpi
    ink = Image.new("L", page.size, 0)
    draw = ImageDraw.Draw(ink)
    ring = max(2, round(dpi / 60))
    for r in (radius, radius * 0.72):
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=255, width=ring)
    _star(draw, (cx, cy), radius * 0.22)
    font = ImageFont.truetype(str(SEAL_FONT), size=max(8, round(radius * 0.17)))
    rim = radius * 0.86
    step = 2 * math.pi / max(1, len(text))
    start = rng.uniform(0, 2 * math.pi)
    for i, char in enumerate(text):
        angle = start + i * step
        side = round(font.size * 2)
        glyph = Image.new("L", (side, side), 0)
        ImageDraw.Draw(glyph).text((side / 2, side / 2), char, font=font, fill=255, anchor="mm")
        turned = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        x = cx + rim * math.cos(angle) - turned.width / 2
        y = cy + rim * math.sin(angle) - turned.height / 2
        ink.paste(255, (round(x), round(y)), turned)
    box = ink.getbbox() or (0, 0, 1, 1)
    patch = np.asarray(ink.crop(box), dtype=np.float32)
    texture = np.random.default_rng(seed).uniform(0.75, 1.0, patch.shape).astype(np.float32)
    stamped = Image.fromarray((patch * texture).astype(np.uint8), "L")
    density = Image.new("L", page.size, 0)
    density.paste(stamped.filter(ImageFilter.GaussianBlur(0.6)), box[:2])
    return _with_dpi(_multiply(page, density, SEAL_RED), dpi)


def _star(draw: ImageDraw.ImageDraw, centre: tuple[float, float], radius: float) -> None:
    """Draw a filled five-pointed star."""
    cx, cy = centre
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else radius * 0.4
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    draw.polygon(points, fill=255)


def add_signature(
    image: Image.Image,
    *,
    origin: tuple[float, float] | None = None,
    width_in: float = 1.8,
    seed: int = 0,
) -> Image.Image:
    """Draw a handwritten-like blue signature squiggle; ``origin`` is its left end in pixels.

    By default it sits at the lower right of the text block, where officials sign.
    Returns RGB.
    """
    dpi = _dpi(image)
    page = image.convert("RGB")
    rng = random.Random(seed)
    if origin is None:
        cx, cy = _text_centre(page)
        origin = (cx + 0.3 * dpi, cy + 1.5 * dpi)
    x0, y0 = origin
    span = width_in * dpi
    amplitude = 0.25 * dpi
    waves = [
        (rng.uniform(2, 9), rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 1)) for _ in range(4)
    ]
    points: list[tuple[float, float]] = []
    steps = 400
    for i in range(steps + 1):
        t = i / steps
        loop = 0.08 * dpi * math.sin(t * 2 * math.pi * 6)
        y = sum(a * math.sin(f * 2 * math.pi * t + p) for f, p, a in waves) / 2.5
        points.append((x0 + t * span + loop, y0 + amplitude * y))
    ink = Image.new("L", page.size, 0)
    ImageDraw.Draw(ink).line(points, fill=255, width=max(2, round(dpi / 100)), joint="curve")
    box = ink.getbbox()
    if box is not None:
        ink.paste(ink.crop(box).filter(ImageFilter.GaussianBlur(0.5)), box[:2])
    return _with_dpi(_multiply(page, ink, SIGNATURE_BLUE), dpi)


def blank_page(
    *, dpi: int = 300, paper: int = 246, noise: float = 2.0, specks: int = 12, seed: int = 0
) -> Image.Image:
    """An A4 grey page with nothing on it but paper tone, sensor noise and a few dust specks."""
    width = round(A4_MM[0] / 25.4 * dpi)
    height = round(A4_MM[1] / 25.4 * dpi)
    rng = np.random.default_rng(seed)
    pixels = rng.standard_normal((height, width), dtype=np.float32) * np.float32(noise) + paper
    for _ in range(specks):
        y, x = int(rng.integers(0, height - 4)), int(rng.integers(0, width - 4))
        size = int(rng.integers(1, 4))
        pixels[y : y + size, x : x + size] = 60.0
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")
    return _with_dpi(image, dpi)


def darken(image: Image.Image, paper: int = 70) -> Image.Image:
    """Scan too dark: white paper comes out as grey level ``paper``, ink near black."""
    dpi = _dpi(image)
    source = _editable(image)
    scale = paper / 255.0
    return _with_dpi(source.point(lambda v: round(v * scale)), dpi)


def fade(image: Image.Image, contrast: int = 30) -> Image.Image:
    """Scan too faint: black ink comes out only ``contrast`` grey levels below white paper."""
    dpi = _dpi(image)
    source = _editable(image)
    floor = 255 - contrast
    return _with_dpi(source.point(lambda v: round(floor + v * contrast / 255.0)), dpi)


def degrade(
    image: Image.Image,
    *,
    skew_deg: float = 0.0,
    rotate: int = 0,
    noise: float = 0.0,
    jpeg_quality: int | None = None,
    seal: bool = False,
    signature: bool = False,
    dpi: int | None = None,
    scanner: str | None = None,
    seed: int = 0,
) -> Image.Image:
    """Make a clean rendered page look like a real scan, in the order things happen to paper.

    The seal and signature go on the paper first (the page becomes RGB), then it
    lies tilted ``skew_deg`` degrees counter-clockwise and turned ``rotate`` degrees
    clockwise on the scanner, which samples it at ``dpi`` (default: unchanged) in its
    ``scanner`` mode (None: as the paper is; "L" grey, "1" bilevel, cut at mid-grey after
    the noise) with sensor ``noise`` (sigma in grey levels) and saves it as JPEG at
    ``jpeg_quality`` (not a bilevel page).
    """
    page = image.copy()
    page.info["dpi"] = (_dpi(image), _dpi(image))
    if seal:
        page = add_seal(page, seed=seed)
    if signature:
        page = add_signature(page, seed=seed)
    if skew_deg:
        page = skew(page, skew_deg)
    if rotate % 360:
        page = rotate_page(page, rotate)
    if dpi is not None:
        page = resample_dpi(page, dpi)
    if scanner in ("L", "1"):
        page = _with_dpi(page.convert("L"), _dpi(page))
    if noise > 0:
        page = add_noise(page, noise, seed=seed)
    if scanner == "1":
        return _with_dpi(page.point(lambda v: 255 if v >= 128 else 0).convert("1"), _dpi(page))
    if jpeg_quality is not None:
        page = jpeg_artefacts(page, jpeg_quality)
    return page


@dataclass(frozen=True)
class HardPage:
    skew_deg: float
    """Tilt on the scanner, degrees counter-clockwise."""

    rotate: int = 0
    """Clockwise turn on the scanner."""

    seal: bool = False
    """A red seal over the middle of the text."""

    signature: tuple[float, float] | None = None
    """Where a blue signature starts, in inches from the middle of the text (None: none)."""

    scanner: str | None = None
    """The scanner's mode: None as the paper is (colour once inked), "L" grey, "1" bilevel."""


HARD_NOISE = 25.0
"""Sensor noise of the hard set: standard deviation in grey levels (heavy)."""

HARD_JPEG_QUALITY = 75
"""JPEG quality the hard set's grey and colour pages are saved at, as a cheap office
scanner would (bilevel pages are saved losslessly)."""

HARD_SET: tuple[HardPage, ...] = (
    HardPage(-2.5, seal=True),
    HardPage(1.07, rotate=90),
    HardPage(-1.07, signature=(0.3, 1.5)),
    HardPage(2.5),
    HardPage(0.36, seal=True),
    HardPage(-1.79, rotate=180),
    HardPage(1.79),
    HardPage(-0.36),
    HardPage(1.5, rotate=90, seal=True, scanner="L"),
    HardPage(-1.2, signature=(-0.9, -0.1), scanner="L"),
    HardPage(2.0, rotate=180, seal=True, signature=(-0.9, 1.2), scanner="L"),
    HardPage(-0.8, rotate=270, seal=True, signature=(-0.5, 1.2), scanner="1"),
)
"""The team's own hard set, one page of corpus text each, at 200 dpi. The first eight are
colour or grey scans, every one skewed and noisy, two with a red seal and one with a blue
signature (scanned in colour), two turned; the last four hold the cases colour cannot
help: a red seal and a blue signature scanned grey or bilevel, over the text and across
its lines, turned and skewed."""


def write_hard_scan(folder: Path, index: int, *, seed: int = 1000) -> tuple[Path, str]:
    """Write page ``index`` of :data:`HARD_SET` (cycling) into ``folder``: corpus text
    rendered at 300 dpi, scanned as the set says at 200 dpi, saved as JPEG (bilevel: PNG).
    Returns the file and the text rendered on the page."""
    spec = HARD_SET[index % len(HARD_SET)]
    image, text = render_page("\n".join(corpus_paragraphs(8, seed=seed + index)), dpi=300)
    if spec.signature is not None:
        cx, cy = _text_centre(image)
        x, y = spec.signature
        image = add_signature(image, origin=(cx + x * 300, cy + y * 300), seed=seed + index)
    page = degrade(
        image,
        skew_deg=spec.skew_deg,
        rotate=spec.rotate,
        noise=HARD_NOISE,
        seal=spec.seal,
        dpi=200,
        scanner=spec.scanner,
        seed=seed + index,
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{index + 1:03d}.{'png' if page.mode == '1' else 'jpg'}"
    page.save(path, quality=HARD_JPEG_QUALITY, dpi=(200, 200))
    return path, text
