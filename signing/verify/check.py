"""Verification of a signed PDF: integrity, trust, timestamps, revocation, PAdES level, changes."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
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
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import ModificationInfo
from pyhanko_certvalidator import ValidationContext

from signing.errors import TrustStoreError
from signing.pades.evidence import SIGNED_DOCUMENT_POLICY, ValidationData, read_validation_data
from signing.pades.timestamps import signature_timestamp_tokens
from signing.verify.caps import (
    DEFAULT_CAPS,
    NOT_PDF_VI,
    TOO_COMPLEX_VI,
    VerifyCaps,
    screen_pdf,
)
from signing.verify.report import (
    Revocation,
    SignatureReport,
    TimestampReport,
    VerifyReport,
    signature_summary_vi,
)

__all__ = ["load_trust_roots", "verify_pdf"]

logger = logging.getLogger(__name__)

_KEY_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
)
"""Either usage lets a certificate sign documents (Vietnamese CAs issue both kinds)."""


def verify_pdf(
    data: bytes,
    trust_roots: Sequence[Path],
    *,
    allow_fetching: bool = False,
    caps: VerifyCaps | None = DEFAULT_CAPS,
) -> VerifyReport:
    """Validate every signature in the PDF ``data`` against ``trust_roots`` (PEM or DER).

    Revocation is checked with the validation data embedded in the document
    (DSS) and, only when ``allow_fetching`` is set, with OCSP and CRL data fetched
    from the network; otherwise nothing is fetched. Bad input never raises: a
    non-PDF or an unsigned PDF gives a report without signatures, and so does a
    document beyond ``caps`` (too many signatures, revisions or objects, one
    signature behind several fields; see :func:`screen_pdf`), refused before
    pyHanko reads it. Only an unreadable trust root raises
    :class:`TrustStoreError`, since that is a configuration problem.
    """
    roots = load_trust_roots(trust_roots)
    if caps is not None:
        screening = screen_pdf(data, caps)
        if not screening.passed:
            return VerifyReport((), screening.reason_vi, problem=screening.problem)
    try:
        reader = _open_reader(data)
        embedded = list(reader.embedded_regular_signatures)
        stamps = list(reader.embedded_timestamp_signatures)
    except (MemoryError, RecursionError):  # too deep or too big for a reader
        return VerifyReport((), TOO_COMPLEX_VI, problem="refused")
    except Exception:  # any other parser failure means "not a PDF we can read"
        logger.info("verify: input is not a readable PDF", exc_info=True)
        return VerifyReport((), NOT_PDF_VI, problem="not_pdf")
    if not embedded:
        return VerifyReport((), "Tài liệu PDF không có chữ ký số", problem="unsigned")
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
            summary_vi=signature_summary_vi(status, modified, trusted, revocation),
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


def _level_name(level: ModificationLevel | None) -> str:
    return level.name if level is not None else ""


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
