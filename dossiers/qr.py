"""QR codes (PNG, SVG, module matrix; segno, level M) and what motcua's own codes say."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, quote, urlsplit

import segno

__all__ = [
    "LOOKUP_PATH",
    "QR_BORDER",
    "SEPARATOR_PAYLOAD",
    "SheetCode",
    "qr_matrix",
    "qr_png",
    "qr_svg",
    "separator_payload",
    "sheet_code",
]

LOOKUP_PATH = "/tra-cuu/"
"""The path of the public lookup, which a receipt's QR code opens with ``?ma=<code>``."""

SEPARATOR_PAYLOAD = "motcua:tach-ho-so"
"""What a separator sheet's QR code says: "the next dossier starts here"; with a dossier
code it reads ``motcua:tach-ho-so?ma=<code>`` (the code percent-encoded)."""


@dataclass(frozen=True)
class SheetCode:
    """What a QR code on a scanned page says about the stack it is in."""

    kind: Literal["receipt", "separator"]
    """``receipt``: a dossier's receipt (cover sheet); ``separator``: a separator sheet."""

    dossier_code: str
    """The dossier the pages after the sheet belong to; empty for a separator without one."""


def separator_payload(dossier_code: str = "") -> str:
    """The text of a separator sheet's QR code, naming ``dossier_code`` when given."""
    code = dossier_code.strip()
    return f"{SEPARATOR_PAYLOAD}?ma={quote(code, safe='')}" if code else SEPARATOR_PAYLOAD


def sheet_code(text: str) -> SheetCode | None:
    """Read a QR code's text as a receipt's or a separator's; None for any other code.

    A receipt's code is the lookup's address with ``?ma=<code>`` (any host, so receipts
    printed before the public address changed still count); a separator's is
    :data:`SEPARATOR_PAYLOAD`, optionally with the code. Other codes (an identity card's,
    a bank's) say nothing about the stack.
    """
    text = text.strip()
    if text == SEPARATOR_PAYLOAD:
        return SheetCode("separator", "")
    parts = urlsplit(text)
    code = (parse_qs(parts.query).get("ma") or [""])[0].strip()
    if f"{parts.scheme}:{parts.path}" == SEPARATOR_PAYLOAD:
        return SheetCode("separator", code)
    if parts.scheme in {"http", "https"} and parts.path.endswith(LOOKUP_PATH) and code:
        return SheetCode("receipt", code)
    return None


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
