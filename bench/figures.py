"""What the benchmarks print beside their figures: targets met, the machine's load and speed."""

from __future__ import annotations

import os
import time

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


REFERENCE_ADDITIONS = 5_000_000


def machine_speed() -> str:
    """How fast this machine runs Python right now: the best of three timed loops of additions.

    The same machine has measured three times faster or slower from one day to the next,
    so figures in seconds are compared across days only beside this line.
    """
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(REFERENCE_ADDITIONS):
            total += number
        best = min(best, time.perf_counter() - started)
    return f"{REFERENCE_ADDITIONS // 1_000_000} M Python additions in {best:.3f} s"
