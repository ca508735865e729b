"""Errors of the digitize package: one root, each carrying what to do with it."""

from __future__ import annotations

from typing import ClassVar

from core.errors import Disposition, PipelineError

__all__ = [
    "AssembleError",
    "BadInputError",
    "DigitizeError",
    "OcrError",
    "OcrTimeout",
]


class DigitizeError(PipelineError):
    """Root of every error raised by :mod:`digitize`.

    ``message_vi`` is a Vietnamese sentence a clerk can read (no personal data
    beyond a file name); ``disposition`` says what to do with the work item;
    ``detail`` is optional technical context for operators' logs.
    """

    default_message_vi = "Không số hóa được hồ sơ"


class BadInputError(DigitizeError):
    """The input files cannot be digitized as they are (unreadable, unsupported, empty).

    Set aside for the clerk with the reason (``quarantine``): rescanning or fixing the
    files is what helps, not trying again.
    """

    default_disposition: ClassVar[Disposition] = "quarantine"


class OcrError(DigitizeError):
    """Tesseract could not be run or failed on a page."""

    default_disposition: ClassVar[Disposition] = "fail"


class OcrTimeout(OcrError):
    """Tesseract took longer than the configured time on a page; trying again may succeed."""

    default_disposition: ClassVar[Disposition] = "retry"


class AssembleError(DigitizeError):
    """The searchable PDF could not be built from the pages and their OCR layers."""

    default_disposition: ClassVar[Disposition] = "fail"
