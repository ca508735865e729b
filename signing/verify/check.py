"""Verification of a signed PDF: integrity, trust, timestamps, revocation, PAdES level, changes."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import ModificationInfo
from pyhanko_certvalidator import ValidationContext

from signing.errors import TrustStoreError
from signing.pades.evidence import (
    SIGNED_DOCUMENT_POLICY,
    ValidationData,
    read_validation_data,
    signature_timestamp_tokens,
)

__all__ = [
    "Revocation",
    "SignatureReport",
    "TimestampReport",
    "VerifyReport",
    "load_trust_roots",
    "verify_pdf",
]

logger = logging.getLogger(__name__)

Revocation = Literal["good", "revoked", "unknown", "not_checked"]
"""Revocation status of a signer certificate: checked good, revoked, data missing or
stale, or not checked (no embedded validation data and fetching not allowed)."""

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
    """The signer's certificate chains to a given trust root, may sign documents and is
    not known to be revoked (at the trusted timestamp's time when there is one)."""

    modified_after: bool
    """The document was changed after signing beyond what the signature allows."""

    coverage: str
    """pyHanko SignatureCoverageLevel name (ENTIRE_FILE, ENTIRE_REVISION, …) or UNCLEAR."""

    summary_vi: str
    """One Vietnamese sentence saying what the result means."""

    timestamp_time: dt.datetime | None = None
    """Time asserted by the signature's RFC 3161 timestamp, aware, in UTC; None without one."""

    timestamp_valid: bool = False
    """The signature timestamp is intact, cryptographically valid and its TSA trusted."""

    timestamp_authority: str = ""
    """Common name of the TSA certificate of the signature timestamp."""

    revocation: Revocation = "not_checked"
    """Revocation status of the signer certificate (see :data:`Revocation`)."""

    validation_data_embedded: bool = False
    """The document's DSS holds revocation data (OCSP or CRL) about the signer."""

    pades_level: str = ""
    """PAdES baseline level found (B-B, B-T, B-LT, B-LTA); empty when not a PAdES signature."""

    modification_level: str = ""
    """pyHanko ModificationLevel name of later changes (NONE, LTA_UPDATES, FORM_FILLING,
    ANNOTATIONS, OTHER); empty when the analysis could not run."""

    docmdp: int | None = None
    """DocMDP permission (1–3) when this is a certification signature, else None."""

    @property
    def ok(self) -> bool:
        """True when the signature is intact, valid, trusted and the document unmodified."""
        return self.intact and self.valid and self.trusted and not self.modified_after

    def to_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready values."""
        return {
            "field": self.field,
            "signer": self.signer,
            "signing_time": _iso(self.signing_time),
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "modified_after": self.modified_after,
            "coverage": self.coverage,
            "summary_vi": self.summary_vi,
            "timestamp_time": _iso(self.timestamp_time),
            "timestamp_valid": self.timestamp_valid,
            "timestamp_authority": self.timestamp_authority,
            "revocation": self.revocation,
            "validation_data_embedded": self.validation_data_embedded,
            "pades_level": self.pades_level,
            "modification_level": self.modification_level,
            "docmdp": self.docmdp,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class TimestampReport:
    field: str
    """Name of the document timestamp's form field."""

    time: dt.datetime | None
    """Time asserted by the timestamp, aware, in UTC."""

    authority: str
    """Common name of the TSA certificate."""

    intact: bool
    """The timestamped bytes are unchanged."""

    valid: bool
    """The TSA's signature over the token is correct."""

    trusted: bool
    """The TSA certificate chains to a given trust root and may issue timestamps."""

    modified_after: bool
    """The document was changed after the timestamp beyond timestamps, DSS and signatures."""

    @property
    def ok(self) -> bool:
        """True when the timestamp is intact, valid, trusted and nothing else changed later."""
        return self.intact and self.valid and self.trusted and not self.modified_after

    def to_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready values."""
        return {
            "field": self.field,
            "time": _iso(self.time),
            "authority": self.authority,
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "modified_after": self.modified_after,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class VerifyReport:
    signatures: tuple[SignatureReport, ...]
    """One report per signature, in signing order."""

    problem_vi: str = ""
    """Why there is nothing to verify (not a PDF, no signature); empty otherwise."""

    document_timestamps: tuple[TimestampReport, ...] = ()
    """One report per document timestamp (PAdES B-LTA), in document order."""

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
            "document_timestamps": [t.to_dict() for t in self.document_timestamps],
        }


def verify_pdf(
    data: bytes, trust_roots: Sequence[Path], *, allow_fetching: bool = False
) -> VerifyReport:
    """Validate every signature in the PDF ``data`` against ``trust_roots`` (PEM or DER).

    Revocation is checked with the validation data embedded in the document
    (DSS) and, only when ``allow_fetching`` is set, with OCSP and CRL data fetched
    from the network; otherwise nothing is fetched. Bad input never raises: a
    non-PDF or an unsigned PDF gives a report without signatures. Only an
    unreadable trust root raises :class:`TrustStoreError`, since that is a
    configuration problem.
    """
    roots = load_trust_roots(trust_roots)
    try:
        reader = _open_reader(data)
        embedded = list(reader.embedded_regular_signatures)
        stamps = list(reader.embedded_timestamp_signatures)
    except Exception:  # any parser failure means "not a PDF we can read"
        logger.info("verify: input is not a readable PDF", exc_info=True)
        return VerifyReport(signatures=(), problem_vi="Tệp không phải là tài liệu PDF đọc được")
    if not embedded:
        return VerifyReport(signatures=(), problem_vi="Tài liệu PDF không có chữ ký số")
    evidence = read_validation_data(reader)
    checker = _Checker(reader, roots, evidence, stamps, allow_fetching)
    return VerifyReport(
        signatures=tuple(checker.signature(sig) for sig in embedded),
        document_timestamps=tuple(checker.timestamp(stamp) for stamp in stamps),
    )


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


_VALIDATION_ERRORS = (PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError)
"""What malformed signature dictionaries, CMS blobs and DSS entries surface as."""


class _Checker:
    """Validates the signatures and document timestamps of one document."""

    def __init__(
        self,
        reader: PdfFileReader,
        roots: list[asn1_x509.Certificate],
        evidence: ValidationData,
        stamps: list[EmbeddedPdfSignature],
        allow_fetching: bool,
    ) -> None:
        self.reader = reader
        self.roots = roots
        self.evidence = evidence
        self.stamps = stamps
        self.allow_fetching = allow_fetching

    def context(
        self,
        *,
        hard: bool = False,
        moment: dt.datetime | None = None,
        fetch: bool = False,
    ) -> ValidationContext:
        """A validation context over the trust roots and the document's DSS.

        ``hard`` requires revocation data for every certificate of the path;
        ``moment`` validates at that time (revocation data then counts whatever
        its own time, since a timestamp proved the signature existed then).
        """
        return ValidationContext(
            trust_roots=list(self.roots),
            other_certs=list(self.evidence.certs),
            ocsps=list(self.evidence.ocsps),
            crls=list(self.evidence.crls),
            allow_fetching=fetch,
            revocation_mode="hard-fail" if hard else "soft-fail",
            moment=moment,
            retroactive_revinfo=moment is not None,
        )

    def signature(self, sig: EmbeddedPdfSignature) -> SignatureReport:
        field = _safe_field_name(sig)
        try:
            status = validate_pdf_signature(
                sig,
                self.context(),
                ts_validation_context=self.context(),
                diff_policy=SIGNED_DOCUMENT_POLICY,
                key_usage_settings=_KEY_USAGE,
            )
            trusted, revocation = self.revocation(sig, status)
            level = self.level(sig)
            covered = self.evidence.covers(sig.signer_cert)
            docmdp = sig.docmdp_level
        except _VALIDATION_ERRORS:
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
        tst = status.timestamp_validity
        return SignatureReport(
            field=field,
            signer=_common_name(status.signing_cert),
            signing_time=_utc(status.signer_reported_dt),
            intact=status.intact,
            valid=status.valid,
            trusted=trusted,
            modified_after=modified,
            coverage=(status.coverage or SignatureCoverageLevel.UNCLEAR).name,
            summary_vi=_summary(status, modified, trusted, revocation),
            timestamp_time=_utc(tst.timestamp) if tst is not None else None,
            timestamp_valid=bool(tst is not None and tst.intact and tst.valid and tst.trusted),
            timestamp_authority=_common_name(tst.signing_cert) if tst is not None else "",
            revocation=revocation,
            validation_data_embedded=covered,
            pades_level=level,
            modification_level=_level_name(status.modification_level),
            docmdp=int(docmdp.value) if docmdp is not None else None,
        )

    def revocation(
        self, sig: EmbeddedPdfSignature, status: PdfSignatureStatus
    ) -> tuple[bool, Revocation]:
        """Decide trust and revocation from the embedded data, then (if allowed) the network.

        ``status`` is the plain validation (revocation checked only where data
        happens to be at hand). With a trusted signature timestamp and embedded
        data about the signer, the certificate is judged at the timestamp's time
        (long-term validation); fetched data is judged now.
        """
        if status.revoked:
            return False, "revoked"
        attempts: list[tuple[dt.datetime | None, bool]] = []
        tst = status.timestamp_validity
        tst_ok = tst is not None and tst.intact and tst.valid and tst.trusted
        if tst is not None and tst_ok and self.evidence.covers(sig.signer_cert):
            attempts.append((_utc(tst.timestamp), False))
        if self.allow_fetching:
            attempts.append((None, True))
        elif self.evidence.has_revinfo:
            attempts.append((None, False))
        for moment, fetch in attempts:
            checked = validate_pdf_signature(
                sig,
                self.context(hard=True, moment=moment, fetch=fetch),
                ts_validation_context=self.context(),
                key_usage_settings=_KEY_USAGE,
                skip_diff=True,
            )
            if checked.revoked:
                return False, "revoked"
            if checked.trusted:
                return True, "good"
        return status.trusted, "unknown" if attempts else "not_checked"

    def level(self, sig: EmbeddedPdfSignature) -> str:
        """The PAdES baseline level the signature's evidence reaches (structure, not validity)."""
        if str(sig.sig_object.get("/SubFilter", "")) != "/ETSI.CAdES.detached":
            return ""
        later = [s for s in self.stamps if s.signed_revision > sig.signed_revision]
        if not signature_timestamp_tokens(sig.signer_info) and not later:
            return "B-B"
        cert = sig.signer_cert
        if not self.evidence.covers(cert):
            return "B-T"
        for stamp in later:
            resolver = self.reader.get_historical_resolver(stamp.signed_revision)
            if read_validation_data(resolver).covers(cert):
                return "B-LTA"
        return "B-LT"

    def timestamp(self, stamp: EmbeddedPdfSignature) -> TimestampReport:
        field = _safe_field_name(stamp)
        try:
            status = validate_pdf_timestamp(
                stamp, self.context(), diff_policy=SIGNED_DOCUMENT_POLICY
            )
        except _VALIDATION_ERRORS:
            logger.info(
                "verify: document timestamp %s could not be validated", field, exc_info=True
            )
            return TimestampReport(field, None, "", False, False, False, True)
        modified = _modified_after(status)
        return TimestampReport(
            field=field,
            time=_utc(status.timestamp),
            authority=_common_name(status.signing_cert),
            intact=status.intact,
            valid=status.valid,
            trusted=status.trusted,
            modified_after=modified,
        )


def _modified_after(status: ModificationInfo) -> bool:
    coverage = status.coverage
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return False
    if coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return True
    level = status.modification_level
    if level is None or status.docmdp_ok is False:
        return True
    # timestamps, validation data, later signatures and form filling are what a
    # signed document may receive; annotations, content, pages, metadata are not
    return bool(level > ModificationLevel.FORM_FILLING)


def _summary(
    status: PdfSignatureStatus, modified: bool, trusted: bool, revocation: Revocation
) -> str:
    if not status.intact:
        return "Nội dung đã ký bị thay đổi: chữ ký không còn toàn vẹn."
    if not status.valid:
        return "Chữ ký không hợp lệ về mặt mật mã."
    if modified:
        return "Tài liệu đã bị sửa sau khi ký."
    if revocation == "revoked":
        return "Chữ ký toàn vẹn nhưng chứng thư số của người ký đã bị thu hồi."
    if not trusted:
        return (
            "Chữ ký toàn vẹn nhưng chứng thư số của người ký không được tin cậy "
            "(không thuộc tổ chức cấp chứng thư được tin cậy, hết hạn hoặc sai mục đích)."
        )
    if revocation == "unknown":
        return (
            "Chữ ký hợp lệ: tài liệu không bị sửa đổi sau khi ký và người ký được tin cậy, "
            "nhưng chưa xác định được tình trạng thu hồi chứng thư số."
        )
    return "Chữ ký hợp lệ: tài liệu không bị sửa đổi sau khi ký và người ký được tin cậy."


def _level_name(level: ModificationLevel | None) -> str:
    return level.name if level is not None else ""


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


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
