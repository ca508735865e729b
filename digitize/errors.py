"""Errors of the digitize package: one root, each carrying what to do with it."""

from __future__ import annotations

from typing import Literal

Disposition = Literal["retry", "quarantine", "fail"]
"""What the task boundary or the CLI does with an error: try again later, set the
input aside for a person to look at, or mark the document failed."""

__all__ = [
    "AssembleError",
    "BadInputError",
    "DigitizeError",
    "Disposition",
    "OcrError",
    "OcrTimeout",
]


class DigitizeError(Exception):
    """Root of every error raised by :mod:`digitize`.

    ``message_vi`` is a Vietnamese sentence a clerk can read (no personal data
    beyond a file name); ``disposition`` says what to do with the work item;
    ``detail`` is optional technical context for operators' logs.
    """

    disposition: Disposition = "fail"

    def __init__(
        self,
        message_vi: str,
        *,
        disposition: Disposition | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi
        self.detail = detail
        if disposition is not None:
            self.disposition = disposition

    def __str__(self) -> str:
        return self.message_vi

    def __reduce__(self) -> tuple[object, ...]:
        # Keep disposition and detail when the error crosses a process boundary.
        return (
            _rebuild,
            (type(self), self.message_vi, self.disposition, self.detail),
        )


def _rebuild(
    cls: type[DigitizeError], message_vi: str, disposition: Disposition, detail: str
) -> DigitizeError:
    """Recreate an error from its pickled parts."""
    return cls(message_vi, disposition=disposition, detail=detail)


class BadInputError(DigitizeError):
    """The input files cannot be digitized as they are (unreadable, unsupported, empty)."""

    disposition: Disposition = "fail"


class OcrError(DigitizeError):
    """Tesseract could not be run or failed on a page."""

    disposition: Disposition = "fail"


class OcrTimeout(OcrError):
    """Tesseract took longer than the configured time on a page; trying again may succeed."""

    disposition: Disposition = "retry"


class AssembleError(DigitizeError):
    """The searchable PDF could not be built from the pages and their OCR layers."""

    disposition: Disposition = "fail"
