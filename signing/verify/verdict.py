"""What a citizen is told about a checked PDF: one verdict out of a verification report."""

from __future__ import annotations

from typing import Literal

from signing.verify.report import VerifyReport

__all__ = ["Verdict", "verdict_of"]

Verdict = Literal[
    "not_pdf", "unsigned", "modified", "untrusted", "valid", "issued", "refused", "busy"
]
"""The answers of the verification page: not a readable PDF; a PDF without signature;
signed but changed after signing (or a broken signature); intact but signed by someone
not trusted (unknown authority, revoked, expired); intact and trusted; intact, trusted
and byte for byte a result this system issued; refused as too complex or hostile; and
the page is busy (``busy`` never comes from a report)."""


def verdict_of(report: VerifyReport, *, issued: bool) -> Verdict:
    """The verdict of ``report``; ``issued`` says the file's SHA-256 is a stored result's.

    A document is changed when any signature or document timestamp is not intact,
    not cryptographically valid or followed by changes it does not allow; only a
    document that passes every check can be ``issued``.
    """
    if report.problem in ("refused", "overrun"):
        return "refused"
    if report.problem == "not_pdf":
        return "not_pdf"
    if not report.signatures:
        return "unsigned"
    broken = any(not s.intact or not s.valid or s.modified_after for s in report.signatures)
    if broken or any(not t.intact or t.modified_after for t in report.document_timestamps):
        return "modified"
    if not report.ok:
        return "untrusted"
    return "issued" if issued else "valid"
