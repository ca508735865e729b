"""Scan-quality findings: what was found on a page, how severe, and the error that blocks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from core.errors import Disposition
from digitize.errors import BadInputError

__all__ = ["Finding", "ScanQualityError", "Severity", "blocking", "blocking_reason"]

Severity = Literal["block", "warn"]
"""What a finding does: ``block`` sends the document back to the clerk to be scanned
again (nothing is recognised or signed); ``warn`` lets it through and shows the finding
to the signing official beside the page."""


@dataclass(frozen=True)
class Finding:
    code: str
    """What was found: ``low_resolution``, ``implausible_scale``, ``not_colour``, ``blank``,
    ``near_blank``, ``too_dark``, ``dark``, ``too_faint``, ``faint``,
    ``orientation_uncertain`` or ``low_confidence``."""

    severity: Severity
    """Whether it blocks the document or is shown at the signing review."""

    page: int
    """Page number, from 1."""

    message_vi: str
    """One Vietnamese sentence for the clerk or the official, starting with the page."""

    value: float | None = None
    """The measured value behind the finding (dpi, grey level, confidence …), if any."""

    def as_dict(self) -> dict[str, object]:
        """The finding as JSON-ready data (what a page's ``flags`` stores)."""
        return {
            "code": self.code,
            "severity": self.severity,
            "page": self.page,
            "message_vi": self.message_vi,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Finding:
        """Rebuild a finding from :meth:`as_dict` data."""
        value = data.get("value")
        severity: Severity = "block" if data.get("severity") == "block" else "warn"
        return cls(
            code=str(data.get("code", "")),
            severity=severity,
            page=int(str(data.get("page", 0))),
            message_vi=str(data.get("message_vi", "")),
            value=float(value) if isinstance(value, int | float) else None,
        )


class ScanQualityError(BadInputError):
    """Pages fail the scan-quality gate (too low resolution, all blank, too dark or faint).

    The document goes back to the clerk with every blocking finding in the message.
    """

    default_disposition: ClassVar[Disposition] = "quarantine"

    def __init__(self, findings: Sequence[Finding], *, detail: str = "") -> None:
        super().__init__(blocking_reason(findings), detail=detail or _codes(findings))
        self.findings = tuple(findings)

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the findings when the error crosses a process boundary.
        return (_rebuild_quality_error, (self.findings, self.detail))


def _rebuild_quality_error(findings: tuple[Finding, ...], detail: str) -> ScanQualityError:
    """Recreate a quality error from its pickled parts."""
    return ScanQualityError(findings, detail=detail)


def _codes(findings: Iterable[Finding]) -> str:
    """The findings as a compact technical line for operators' logs."""
    return ", ".join(f"p{f.page}:{f.code}" for f in findings)


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that stop a document."""
    return [f for f in findings if f.severity == "block"]


def blocking_reason(findings: Iterable[Finding]) -> str:
    """The clerk's reason for sending a document back: each blocking finding on a line."""
    messages = [f.message_vi for f in blocking(findings)]
    return "\n".join(messages) if messages else ""
