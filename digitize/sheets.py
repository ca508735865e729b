"""QR codes on scanned pages, read with zxing-cpp: upright, turned, upside down or faint."""

from __future__ import annotations

from PIL import Image, ImageOps

__all__ = ["FAINT_DARKEST", "MAX_SIDE", "read_qr_codes"]

FAINT_DARKEST = 110
"""A page whose darkest ink (its 0.5th percentile of grey) is lighter than this is faint: a
pale toner or a scan set too light. Only such pages get a second, contrast-stretched read."""

MAX_SIDE = 2400
"""Pages are read at no more than this many pixels on their long side (about 200 dpi on
A4): a receipt's QR code keeps about 8 pixels a module, and a 600 dpi scan is read fast."""


def _grey(image: Image.Image) -> Image.Image:
    grey = image if image.mode == "L" else image.convert("L")
    longest = max(grey.size)
    if longest > MAX_SIDE:
        scale = MAX_SIDE / longest
        grey = grey.resize(
            (max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
            Image.Resampling.BOX,
        )
    return grey


def _darkest(grey: Image.Image) -> int:
    """The grey level below which 0.5 % of the page's pixels lie."""
    histogram = grey.histogram()
    wanted = grey.width * grey.height * 0.005
    seen = 0
    for level, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return level
    return 255


def _read(grey: Image.Image) -> list[str]:
    import zxingcpp  # loaded on the first batch, not by every process importing digitize

    found = zxingcpp.read_barcodes(
        grey,
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        try_rotate=True,
        try_invert=False,
    )
    return [code.text for code in found if code.valid and code.text]


def read_qr_codes(image: Image.Image) -> list[str]:
    """The texts of the QR codes on a page, top to bottom as zxing-cpp finds them.

    A code turned 90°, 180° or 270° is read as it is. A faint page (see
    :data:`FAINT_DARKEST`) found empty is read again with its contrast stretched, so a
    pale cover sheet still counts; ordinary pages pay for one read only.
    """
    grey = _grey(image)
    codes = _read(grey)
    if codes:
        return codes
    darkest = _darkest(grey)
    if darkest < FAINT_DARKEST:
        return []
    stretched = ImageOps.autocontrast(grey, cutoff=(0.5, 2))
    codes = _read(stretched)
    if codes:
        return codes
    # Very pale ink: a hard threshold halfway between the ink and the paper.
    threshold = (darkest + 255) // 2
    return _read(grey.point(lambda v: 0 if v < threshold else 255))
