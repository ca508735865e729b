"""Tests of verification on odd input: never a traceback, always a report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from signing.devpki import IssuedKey
from signing.errors import TrustStoreError
from signing.verify.check import verify_pdf
from signing.verify.report import SignatureReport, VerifyReport


def test_non_pdf_gives_an_empty_report(trust: list[Path]) -> None:
    """Bytes that are not a PDF give no signatures, ok False and a Vietnamese reason."""
    report = verify_pdf(b"khong phai PDF", trust)
    assert report.signatures == ()
    assert not report.ok
    assert report.problem_vi == "Tệp không phải là tài liệu PDF đọc được"


def test_unsigned_pdf_gives_an_empty_report(unsigned_pdf: bytes, trust: list[Path]) -> None:
    """An unsigned PDF is not ok and says it has no signature."""
    report = verify_pdf(unsigned_pdf, trust)
    assert report.signatures == ()
    assert not report.ok
    assert "không có chữ ký" in report.problem_vi


def test_truncated_signed_pdf_does_not_raise(signed_pdf: bytes, trust: list[Path]) -> None:
    """A signed PDF cut short gives a not-ok report, not an exception."""
    for cut in (len(signed_pdf) // 2, len(signed_pdf) - 40):
        assert not verify_pdf(signed_pdf[:cut], trust).ok


def test_damaged_signature_value_is_not_valid(signed_pdf: bytes, trust: list[Path]) -> None:
    """Garbling the CMS blob in /Contents yields a failed signature report."""
    match = re.search(rb"/Contents <(30[0-9A-Fa-f]{600})", signed_pdf)
    assert match is not None
    start = match.start(1) + 500
    garbled = signed_pdf[:start] + b"00000000" + signed_pdf[start + 8 :]
    report = verify_pdf(garbled, trust)
    (sig,) = report.signatures
    assert not sig.ok
    assert not report.ok


def test_no_trust_roots_means_not_trusted(signed_pdf: bytes) -> None:
    """With an empty trust list nothing is trusted (the system store is not used)."""
    (sig,) = verify_pdf(signed_pdf, []).signatures
    assert sig.intact and sig.valid and not sig.trusted


def test_trust_root_in_der_form(signed_pdf: bytes, pki: IssuedKey, tmp_path: Path) -> None:
    """A DER trust root works as well as PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = tmp_path / "ca.cer"
    der.write_bytes(
        x509.load_pem_x509_certificate(pki.ca_cert.read_bytes()).public_bytes(Encoding.DER)
    )
    assert verify_pdf(signed_pdf, [der]).ok


def test_unreadable_trust_root_raises(signed_pdf: bytes, tmp_path: Path) -> None:
    """A trust root that cannot be read is a configuration error (TrustStoreError)."""
    bogus = tmp_path / "ca.pem"
    bogus.write_text("khong phai chung thu")
    with pytest.raises(TrustStoreError) as info:
        verify_pdf(signed_pdf, [bogus])
    assert info.value.disposition == "fail"
    with pytest.raises(TrustStoreError):
        verify_pdf(signed_pdf, [tmp_path / "khong-co.pem"])


def test_report_to_dict_is_json_ready(signed_pdf: bytes, trust: list[Path]) -> None:
    """to_dict gives JSON-serialisable values mirroring the report."""
    report = verify_pdf(signed_pdf, trust)
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert data["ok"] is True
    (sig,) = data["signatures"]
    assert sig["signer"] == "Nguyễn Văn An"
    assert sig["signing_time"] == "2026-11-22T07:05:03+00:00"
    assert sig["ok"] is True and sig["modified_after"] is False
    assert sig["coverage"] == "ENTIRE_FILE"


def test_report_ok_needs_every_signature_ok() -> None:
    """VerifyReport.ok is false when any signature fails and when there is none."""
    good = SignatureReport("A", "x", None, True, True, True, False, "ENTIRE_FILE", "")
    bad = SignatureReport("B", "x", None, True, True, True, True, "ENTIRE_REVISION", "")
    assert good.ok and not bad.ok
    assert VerifyReport((good,)).ok
    assert not VerifyReport((good, bad)).ok
    assert not VerifyReport(()).ok
