"""Decoded scan pixels made uniform: any Pillow mode as "1", "L" or "RGB", and square pixels."""

from __future__ import annotations

from typing import cast

from PIL import Image

__all__ = ["normalise_mode", "square_pixels"]


def square_pixels(image: Image.Image, dpi: tuple[float, float]) -> tuple[Image.Image, int]:
    """Resample an image whose axes differ in resolution so that both use the larger one."""
    x, y = dpi
    if abs(x - y) <= 0.01 * max(x, y):
        return image, max(1, round((x + y) / 2))
    target = max(x, y)
    size = (round(image.width * target / x), round(image.height * target / y))
    resample = Image.Resampling.NEAREST if image.mode == "1" else Image.Resampling.LANCZOS
    resized = image.resize(size, resample)
    image.close()
    return resized, max(1, round(target))


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite an image with transparency onto white."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def normalise_mode(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to "1", "L" or "RGB" without losing the picture."""
    mode = image.mode
    if mode in {"1", "L", "RGB"}:
        return image
    if mode in {"LA", "La"}:
        return _flatten_alpha(image).convert("L")
    if mode in {"RGBA", "RGBa", "PA"} or (mode == "P" and "transparency" in image.info):
        return _flatten_alpha(image)
    if mode == "P":
        rgb = image.convert("RGB")
        palette = image.getpalette() or []
        grey = all(
            palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3)
        )
        return rgb.convert("L") if grey else rgb
    if mode.startswith("I;16") or mode in {"I", "F"}:
        return _to_eight_bit(image)
    return image.convert("RGB")


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """Scale a 16-bit, 32-bit integer or float grey image to 8 bits."""
    wide = image.convert("F")
    if image.mode.startswith("I;16"):
        top = 65535.0
    else:
        low, high = cast(tuple[float, float], wide.getextrema())  # one band: (min, max)
        top = high if high > 255 or low < 0 else 255.0
    scale = 255.0 / top if top > 0 else 1.0
    return wide.point(lambda v: v * scale + 0.5).convert("L")  # + 0.5: round, not truncate
