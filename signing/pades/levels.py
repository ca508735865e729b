"""PAdES baseline levels (ETSI EN 319 142-1), from B-B to B-LTA."""

from __future__ import annotations

from typing import Literal

__all__ = ["LEVELS", "PadesLevel", "level_at_least"]

PadesLevel = Literal["B-B", "B-T", "B-LT", "B-LTA"]
"""ETSI EN 319 142-1 baseline levels, each including the one before."""

LEVELS: tuple[PadesLevel, ...] = ("B-B", "B-T", "B-LT", "B-LTA")
"""The baseline levels from weakest to strongest."""


def level_at_least(level: PadesLevel, floor: PadesLevel) -> bool:
    """Return True when ``level`` includes everything ``floor`` requires."""
    return LEVELS.index(level) >= LEVELS.index(floor)
