"""Verification of the signatures in a PDF: integrity, trust and later modifications."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.misc import PdfError, PdfStrictReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    validate_pdf_signature,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from signing.errors import TrustStoreError

__all__ = ["SignatureReport", "VerifyReport", "load_trust_roots", "verify_pdf"]

logger = logging.getLogger(__name__)

_KEY_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
)
"""Either usage lets a certificate sign documents (Vietnamese CAs issue both kinds)."""


@dataclass(frozen=True)
class SignatureReport:
    field: str
    """Name of the signature form field."""

    signer: str
    """Common name of the signer's certificate, or an empty string if unreadable."""

    signing_time: dt.datetime | None
    """Signing time claimed by the signer (not a trusted timestamp), aware, in UTC."""

    intact: bool
    """The signed bytes are unchanged (the document digest matches)."""

    valid: bool
    """The cryptographic signature over the signed attributes is correct."""

    trusted: bool
    """The signer's certificate chains to a given trust root and may sign documents."""

    modified_after: bool
    """The document was changed after signing beyond what the signature allows."""

    coverage: str
    """pyHanko SignatureCoverageLevel name (ENTIRE_FILE, ENTIRE_REVISION, …) or UNCLEAR."""

    summary_vi: str
    """One Vietnamese sentence saying what the result means."""

    @property
    def ok(self) -> bool:
        """True when the signature is intact, valid, trusted and the document unmodified."""
        return self.intact and self.valid and self.trusted and not self.modified_after

    def to_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready values."""
        return {
            "field": self.field,
            "signer": self.signer,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "modified_after": self.modified_after,
            "coverage": self.coverage,
            "summary_vi": self.summary_vi,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class VerifyReport:
    signatures: tuple[SignatureReport, ...]
    """One report per signature, in signing order."""

    problem_vi: str = ""
    """Why there is nothing to verify (not a PDF, no signature); empty otherwise."""

    @property
    def ok(self) -> bool:
        """True when there is at least one signature and every signature is ok."""
        return bool(self.signatures) and all(s.ok for s in self.signatures)

    def to_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready values."""
        return {
            "ok": self.ok,
            "problem_vi": self.problem_vi,
            "signatures": [s.to_dict() for s in self.signatures],
        }


def verify_pdf(data: bytes, trust_roots: Sequence[Path]) -> VerifyReport:
    """Validate every signature in the PDF ``data`` against ``trust_roots`` (PEM or DER).

    Nothing is fetched from the network. Bad input never raises: a non-PDF or an
    unsigned PDF gives a report without signatures. Only an unreadable trust root
    raises :class:`TrustStoreError`, since that is a configuration problem.
    """
    roots = load_trust_roots(trust_roots)
    try:
        reader = _open_reader(data)
        embedded = list(reader.embedded_regular_signatures)
    except Exception:  # any parser failure means "not a PDF we can read"
        logger.info("verify: input is not a readable PDF", exc_info=True)
        return VerifyReport(signatures=(), problem_vi="Tệp không phải là tài liệu PDF đọc được")
    if not embedded:
        return VerifyReport(signatures=(), problem_vi="Tài liệu PDF không có chữ ký số")
    return VerifyReport(signatures=tuple(_check(sig, roots) for sig in embedded))


def load_trust_roots(paths: Sequence[Path]) -> list[asn1_x509.Certificate]:
    """Read the trust root certificates from PEM or DER files."""
    roots: list[asn1_x509.Certificate] = []
    for path in paths:
        try:
            data = path.read_bytes()
            if b"-----BEGIN" in data:
                certs = x509.load_pem_x509_certificates(data)
            else:
                certs = [x509.load_der_x509_certificate(data)]
        except (OSError, ValueError) as exc:
            raise TrustStoreError(f"Không đọc được chứng thư gốc tin cậy: {path.name}") from exc
        roots.extend(asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in certs)
    return roots


def _open_reader(data: bytes) -> PdfFileReader:
    try:
        return PdfFileReader(io.BytesIO(data), strict=True)
    except PdfStrictReadError:
        return PdfFileReader(io.BytesIO(data), strict=False)


def _check(sig: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate]) -> SignatureReport:
    field = _safe_field_name(sig)
    context = ValidationContext(trust_roots=list(roots), allow_fetching=False)
    try:
        status = validate_pdf_signature(sig, context, key_usage_settings=_KEY_USAGE)
    except (PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        # malformed signature dictionaries and CMS blobs surface as these
        logger.info("verify: signature %s could not be validated", field, exc_info=True)
        return SignatureReport(
            field=field,
            signer="",
            signing_time=None,
            intact=False,
            valid=False,
            trusted=False,
            modified_after=True,
            coverage=SignatureCoverageLevel.UNCLEAR.name,
            summary_vi="Chữ ký bị hỏng, không kiểm tra được.",
        )
    modified = _modified_after(status)
    return SignatureReport(
        field=field,
        signer=_common_name(status.signing_cert),
        signing_time=_utc(status.signer_reported_dt),
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        modified_after=modified,
        coverage=(status.coverage or SignatureCoverageLevel.UNCLEAR).name,
        summary_vi=_summary(status, modified),
    )


def _modified_after(status: PdfSignatureStatus) -> bool:
    coverage = status.coverage
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return False
    if coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return True
    level = status.modification_level
    if level is None or status.docmdp_ok is False:
        return True
    # later signatures and form filling are what a signed document may receive
    return bool(level > ModificationLevel.FORM_FILLING)


def _summary(status: PdfSignatureStatus, modified: bool) -> str:
    if not status.intact:
        return "Nội dung đã ký bị thay đổi: chữ ký không còn toàn vẹn."
    if not status.valid:
        return "Chữ ký không hợp lệ về mặt mật mã."
    if modified:
        return "Tài liệu đã bị sửa sau khi ký."
    if status.revoked:
        return "Chữ ký toàn vẹn nhưng chứng thư số của người ký đã bị thu hồi."
    if not status.trusted:
        return (
            "Chữ ký toàn vẹn nhưng chứng thư số của người ký không được tin cậy "
            "(không thuộc tổ chức cấp chứng thư được tin cậy, hết hạn hoặc sai mục đích)."
        )
    return "Chữ ký hợp lệ: tài liệu không bị sửa đổi sau khi ký và người ký được tin cậy."


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _common_name(cert: asn1_x509.Certificate) -> str:
    try:
        name = cert.subject.native.get("common_name", "")
    except (ValueError, TypeError, AttributeError):
        return ""
    if isinstance(name, list):  # several CN attributes
        name = ", ".join(str(n) for n in name)
    return str(name)


def _safe_field_name(sig: EmbeddedPdfSignature) -> str:
    try:
        return str(sig.field_name)
    except (PdfError, ValueError, KeyError, TypeError, AttributeError):
        return ""
