"""QR codes as PNG, SVG or a module matrix, made with segno at error correction level M."""

from __future__ import annotations

import io

import segno

__all__ = ["QR_BORDER", "qr_matrix", "qr_png", "qr_svg"]

QR_BORDER = 4
"""Quiet zone around the symbol, in modules (the width the QR standard asks for)."""

_SVG_SCALE = 4


def _make(data: str) -> segno.QRCode:
    if not data:
        raise ValueError("a QR code needs non-empty data")
    # boost_error=False keeps the level exactly M, so readers and tests know what to expect.
    return segno.make_qr(data, error="m", boost_error=False)


def qr_png(data: str, *, scale: int = 8) -> bytes:
    """Return a black-on-white PNG of `data`, `scale` pixels per module, with a quiet zone."""
    buffer = io.BytesIO()
    _make(data).save(buffer, kind="png", scale=scale, border=QR_BORDER)
    return buffer.getvalue()


def qr_svg(data: str) -> str:
    """Return an inline ``<svg>`` element of `data` for HTML pages, on a white background.

    It has no XML declaration, an intrinsic size of 4 px a module and a viewBox, so
    a stylesheet may resize it.
    """
    qr = _make(data)
    width, height = qr.symbol_size(scale=_SVG_SCALE, border=QR_BORDER)
    svg = str(qr.svg_inline(scale=_SVG_SCALE, border=QR_BORDER, light="#fff"))
    # width/height give a sensible intrinsic size; the viewBox lets CSS resize it.
    return svg.replace("<svg ", f'<svg viewBox="0 0 {width} {height}" ', 1)


def qr_matrix(data: str) -> list[list[bool]]:
    """Return the symbol's modules of `data`, row by row from the top, True for dark.

    The quiet zone is not included.
    """
    return [[bool(module) for module in row] for row in _make(data).matrix]
