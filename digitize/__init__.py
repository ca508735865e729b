"""Scans to searchable PDF/A: page loading, Tesseract OCR and PDF assembly, without Django."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from digitize.assemble import DossierMetadata, assemble_pdf
    from digitize.errors import (
        AssembleError,
        BadInputError,
        DigitizeError,
        OcrError,
        OcrTimeout,
    )
    from digitize.ocr import OcrSettings, PageOcr, ocr_page
    from digitize.pages import PageImage, count_pages, split_pages
    from digitize.pipeline import DigitizeResult, digitize_files

__all__ = [
    "AssembleError",
    "BadInputError",
    "DigitizeError",
    "DigitizeResult",
    "DossierMetadata",
    "OcrError",
    "OcrSettings",
    "OcrTimeout",
    "PageImage",
    "PageOcr",
    "assemble_pdf",
    "count_pages",
    "digitize_files",
    "ocr_page",
    "split_pages",
]

_HOMES = {
    "AssembleError": "errors",
    "BadInputError": "errors",
    "DigitizeError": "errors",
    "OcrError": "errors",
    "OcrTimeout": "errors",
    "DossierMetadata": "assemble",
    "assemble_pdf": "assemble",
    "OcrSettings": "ocr",
    "PageOcr": "ocr",
    "ocr_page": "ocr",
    "PageImage": "pages",
    "count_pages": "pages",
    "split_pages": "pages",
    "DigitizeResult": "pipeline",
    "digitize_files": "pipeline",
}
"""Which submodule defines each public name; they are imported on first use."""


def __getattr__(name: str) -> Any:
    """Import a public name from its submodule the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'digitize' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"digitize.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's attributes, including the lazily imported public names."""
    return sorted(set(globals()) | set(__all__))
