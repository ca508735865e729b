"""Verification reports of a signed PDF: per signature and document timestamp, JSON, Vietnamese."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

if TYPE_CHECKING:
    from pyhanko.sign.validation import PdfSignatureStatus

__all__ = [
    "Problem",
    "Revocation",
    "SignatureReport",
    "TimestampReport",
    "VerifyReport",
    "signature_summary_vi",
]

Revocation = Literal["good", "revoked", "unknown", "not_checked"]
"""Revocation status of a signer certificate: checked good, revoked, data missing or
stale, or not checked (no embedded validation data and fetching not allowed)."""

Problem = Literal["", "not_pdf", "unsigned", "refused", "overrun"]
"""Why a report has nothing to verify: not a readable PDF, no signature, refused by the
caps before pyHanko's work (:mod:`signing.verify.caps`), or the check ran past its
limits of time or memory (:mod:`signing.verify.sandbox`); empty when it was verified."""


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignatureReport:
        """Rebuild a report from :meth:`to_dict`'s values (as from another process)."""
        docmdp = data.get("docmdp")
        return cls(
            field=str(data["field"]),
            signer=str(data["signer"]),
            signing_time=_from_iso(data.get("signing_time")),
            intact=bool(data["intact"]),
            valid=bool(data["valid"]),
            trusted=bool(data["trusted"]),
            modified_after=bool(data["modified_after"]),
            coverage=str(data["coverage"]),
            summary_vi=str(data["summary_vi"]),
            timestamp_time=_from_iso(data.get("timestamp_time")),
            timestamp_valid=bool(data.get("timestamp_valid", False)),
            timestamp_authority=str(data.get("timestamp_authority", "")),
            revocation=_revocation(data.get("revocation")),
            validation_data_embedded=bool(data.get("validation_data_embedded", False)),
            pades_level=str(data.get("pades_level", "")),
            modification_level=str(data.get("modification_level", "")),
            docmdp=int(docmdp) if docmdp is not None else None,
        )


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimestampReport:
        """Rebuild a report from :meth:`to_dict`'s values (as from another process)."""
        return cls(
            field=str(data["field"]),
            time=_from_iso(data.get("time")),
            authority=str(data["authority"]),
            intact=bool(data["intact"]),
            valid=bool(data["valid"]),
            trusted=bool(data["trusted"]),
            modified_after=bool(data["modified_after"]),
        )


@dataclass(frozen=True)
class VerifyReport:
    signatures: tuple[SignatureReport, ...]
    """One report per signature, in signing order."""

    problem_vi: str = ""
    """Why there is nothing to verify (not a PDF, no signature, refused); empty otherwise."""

    document_timestamps: tuple[TimestampReport, ...] = ()
    """One report per document timestamp (PAdES B-LTA), in document order."""

    problem: Problem = ""
    """The kind of ``problem_vi`` (see :data:`Problem`); empty when there is none."""

    @property
    def ok(self) -> bool:
        """True when there is at least one signature and every signature is ok."""
        return bool(self.signatures) and all(s.ok for s in self.signatures)

    def to_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready values."""
        return {
            "ok": self.ok,
            "problem": self.problem,
            "problem_vi": self.problem_vi,
            "signatures": [s.to_dict() for s in self.signatures],
            "document_timestamps": [t.to_dict() for t in self.document_timestamps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerifyReport:
        """Rebuild a report from :meth:`to_dict`'s values (as from another process).

        Raises KeyError, TypeError or ValueError when ``data`` is not such values.
        """
        problem = data.get("problem", "")
        if problem not in _PROBLEMS:
            raise ValueError(f"unknown problem {problem!r}")
        return cls(
            signatures=tuple(SignatureReport.from_dict(s) for s in data["signatures"]),
            problem_vi=str(data.get("problem_vi", "")),
            document_timestamps=tuple(
                TimestampReport.from_dict(t) for t in data.get("document_timestamps", ())
            ),
            problem=problem,
        )


def signature_summary_vi(
    status: PdfSignatureStatus, modified: bool, trusted: bool, revocation: Revocation
) -> str:
    """One Vietnamese sentence saying what a signature's validation result means."""
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


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _from_iso(value: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


_PROBLEMS: frozenset[str] = frozenset(get_args(Problem))
_REVOCATIONS: frozenset[str] = frozenset(get_args(Revocation))


def _revocation(value: object) -> Revocation:
    if value not in _REVOCATIONS:
        raise ValueError(f"unknown revocation status {value!r}")
    return cast(Revocation, value)
