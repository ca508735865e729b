"""Text helpers for OCR tests: character error rate on normalised text, decomposed text."""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import Levenshtein

_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Return ``text`` in NFC with every run of whitespace collapsed to one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def cer(reference: str, hypothesis: str) -> float:
    """Return the character error rate of ``hypothesis`` against ``reference``.

    Both sides are NFC-normalised and their whitespace collapsed to single spaces;
    the result is the Levenshtein distance divided by the reference length.
    """
    ref = normalise(reference)
    hyp = normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(Levenshtein.distance(ref, hyp)) / len(ref)


def nfd(text: str) -> str:
    """``text`` in decomposed Unicode (NFD), as some keyboards type Vietnamese."""
    return unicodedata.normalize("NFD", text)
