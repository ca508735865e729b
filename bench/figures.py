"""What the benchmarks print beside their figures: whether a target is met, the machine's load."""

from __future__ import annotations

import os

import motcua  # noqa: F401 - its warning filters: no pyHanko import warning in a bench's output


def verdict(ok: bool | None, met: str = "met", missed: str = "NOT met") -> str:
    """``met`` when a target is reached, ``missed`` when not, nothing when there is none."""
    if ok is None:
        return ""
    return met if ok else missed


def load_average(separator: str = " ") -> str:
    """The machine's load averages over 1, 5 and 15 minutes, or "unknown" where it has none."""
    try:
        return separator.join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - not available
        return "unknown"
