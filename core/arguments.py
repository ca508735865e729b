"""Command-line values the one-shot commands share, refused in Vietnamese."""

from __future__ import annotations

import argparse

__all__ = ["positive_int"]


def positive_int(value: str) -> int:
    """Parse a command-line count of at least one."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"không phải số nguyên: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"phải từ 1 trở lên: {number}")
    return number
