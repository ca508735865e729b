"""Where the data directory is: its default decided in one place, for settings and commands."""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_dir"]


def data_dir(configured: str | None) -> Path:
    """The data directory: ``configured`` (``MOTCUA_DATA_DIR``) or ``./var``, made absolute."""
    return Path(configured or Path.cwd() / "var").resolve()
