"""The structural PDF/A-2b check on whole files: our own output passes, damaged bytes are found."""

from __future__ import annotations

from core.pdfa.check import PdfaViolation, check_pdfa
from tests.support.pdfs import clauses as _clauses
from tests.support.pdfs import rewritten as _rewritten


def test_our_output_has_no_violations(ours: bytes) -> None:
    """A digitized dossier as assemble_pdf writes it passes every check."""
    assert check_pdfa(ours) == []


def test_a_plain_copy_has_no_violations(ours: bytes) -> None:
    """Copying our output through pypdf unchanged keeps it clean (the broken cases start here)."""
    assert check_pdfa(_rewritten(ours, lambda writer: None)) == []


def test_violation_reads_as_clause_and_message() -> None:
    """A violation prints as its clause followed by what is wrong."""
    assert str(PdfaViolation("ISO 19005-2 6.1.3", "no /ID")) == "ISO 19005-2 6.1.3: no /ID"


def test_garbage_is_reported_not_raised() -> None:
    """Bytes that are not a PDF give violations instead of an exception."""
    clauses = _clauses(check_pdfa(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\nthis is no PDF at all"))
    assert "ISO 19005-2 6.1" in clauses


# Byte-level damage ------------------------------------------------------------------------


def test_header_without_binary_comment(ours: bytes) -> None:
    """A header line not followed by a comment of four high bytes breaks 6.1.2."""
    assert ours[9:10] == b"%"
    broken = ours[:10] + b"abcd" + ours[14:]
    assert "ISO 19005-2 6.1.2" in _clauses(check_pdfa(broken))


def test_data_after_the_last_eof(ours: bytes) -> None:
    """Anything but an end of line after the last %%EOF breaks 6.1.3."""
    assert "ISO 19005-2 6.1.3" in _clauses(check_pdfa(ours + b"trailing junk\n"))


def test_trailer_without_identifier(ours: bytes) -> None:
    """A trailer without /ID breaks 6.1.3."""
    at = ours.rindex(b"/ID")
    broken = ours[:at] + b"/XX" + ours[at + 3 :]
    violations = check_pdfa(broken)
    assert any(v.clause == "ISO 19005-2 6.1.3" and "/ID" in v.message for v in violations)


def test_encrypted_file(ours: bytes) -> None:
    """An encrypted file breaks 6.1.3 (and is not looked into further)."""
    broken = _rewritten(ours, lambda writer: writer.encrypt("", "owner", algorithm="AES-128"))
    assert _clauses(check_pdfa(broken)) == {"ISO 19005-2 6.1.3"}
