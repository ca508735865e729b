"""Vietnamese telephone numbers as an applicant writes them, checked and in one canonical form."""

from __future__ import annotations

import re

from dossiers.errors import RegistrationError

__all__ = ["normalise_phone"]

_SEPARATORS = re.compile(r"[\s.\-()]")
_MOBILE = re.compile(r"0[35789]\d{8}")
"""A mobile number: 10 digits, 03x, 05x, 07x, 08x or 09x (the prefixes since 2018)."""
_LANDLINE = re.compile(r"02\d{9}")
"""A fixed line: 11 digits, the area code 02x then the subscriber's number."""


def normalise_phone(raw: str) -> str:
    """Return ``raw`` as a Vietnamese number in national form (``0912345678``), or "" if empty.

    Spaces, dots, dashes and brackets are ignored; ``+84`` (or ``0084``) stands for the
    leading 0. Anything else raises :class:`RegistrationError` with a Vietnamese sentence.
    """
    text = _SEPARATORS.sub("", raw.strip())
    if not text:
        return ""
    for prefix in ("+84", "0084"):
        if text.startswith(prefix):
            text = "0" + text.removeprefix(prefix).removeprefix("0")
            break
    if _MOBILE.fullmatch(text) or _LANDLINE.fullmatch(text):
        return text
    raise RegistrationError(
        f"Số điện thoại '{raw.strip()[:32]}' không hợp lệ: cần số di động 10 chữ số "
        "(03x, 05x, 07x, 08x, 09x), số cố định 11 chữ số (02x), hoặc dạng +84."
    )
