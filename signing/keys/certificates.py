"""Signers' certificates: may this one sign now, is it the signer's, its fingerprint and name."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import unicodedata
from dataclasses import dataclass
from typing import TypeAlias

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from pyhanko.sign.signers import Signer

from core.vntime import format_vn_date
from signing.errors import CertificateError
from signing.keys.config import parse_fingerprint_sha256

__all__ = [
    "AnyCertificate",
    "SignerIdentity",
    "check_belongs_to",
    "check_signing_certificate",
    "common_name",
    "fingerprint_sha256",
    "signer_identity",
]

logger = logging.getLogger(__name__)

AnyCertificate: TypeAlias = x509.Certificate | asn1_x509.Certificate
"""A certificate as cryptography parses it or as pyHanko carries it (asn1crypto)."""


def check_signing_certificate(cert: AnyCertificate, *, now: dt.datetime | None = None) -> None:
    """Raise :class:`CertificateError` unless ``cert`` may sign documents at ``now``.

    The certificate must be inside its validity period, must not be a CA
    certificate, and its key usage must allow digitalSignature or nonRepudiation
    (Vietnamese CAs issue either). ``now`` defaults to the current time.
    """
    cert = _crypto_cert(cert)
    moment = now or dt.datetime.now(dt.UTC)
    if moment < cert.not_valid_before_utc:
        raise CertificateError(
            "Chứng thư số chưa có hiệu lực (hiệu lực từ "
            f"{format_vn_date(cert.not_valid_before_utc)})"
        )
    if moment > cert.not_valid_after_utc:
        raise CertificateError(
            f"Chứng thư số đã hết hạn ngày {format_vn_date(cert.not_valid_after_utc)}"
        )
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    if basic is not None and basic.ca:
        raise CertificateError("Chứng thư số là của tổ chức cấp chứng thư (CA), không dùng để ký")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateError(
            "Chứng thư số không ghi mục đích sử dụng khóa (key usage) để ký số"
        ) from None
    if not (usage.digital_signature or usage.content_commitment):
        raise CertificateError("Chứng thư số không được phép dùng để ký số (key usage)")


def check_belongs_to(
    cert: AnyCertificate,
    *,
    expected_fingerprint_sha256: str | None,
    expected_subject_cn: str | None,
) -> None:
    """Raise :class:`CertificateError` unless ``cert`` is the one registered for an account.

    The approval code passes what the approving official's account records: the
    certificate's SHA-256 fingerprint (hex, any case, colons or spaces allowed)
    and/or the subject common name (compared after Unicode NFC, ignoring case and
    repeated spaces, but not diacritics: "Ân" and "An" are different names).
    Every value given must match. An account with neither recorded cannot sign:
    a check that compares nothing would let any certificate through.
    """
    if expected_fingerprint_sha256 is None and expected_subject_cn is None:
        raise CertificateError("Tài khoản phê duyệt chưa đăng ký chứng thư số để ký")
    if expected_fingerprint_sha256 is not None:
        wanted = parse_fingerprint_sha256(expected_fingerprint_sha256)
        if not hmac.compare_digest(fingerprint_sha256(cert), wanted):
            raise CertificateError(
                "Chứng thư số dùng để ký không phải chứng thư đã đăng ký cho tài khoản phê duyệt"
            )
    if expected_subject_cn is not None and _fold_name(common_name(cert)) != _fold_name(
        expected_subject_cn
    ):
        raise CertificateError("Tên người ký trong chứng thư số không khớp với tài khoản phê duyệt")


def fingerprint_sha256(cert: AnyCertificate) -> str:
    """Return the SHA-256 fingerprint of ``cert``'s DER encoding as lowercase hex."""
    return hashlib.sha256(_der(cert)).hexdigest()


def common_name(cert: AnyCertificate) -> str:
    """Return the subject common name (CN) of ``cert``, or an empty string."""
    return _attr(_crypto_cert(cert).subject, NameOID.COMMON_NAME)


def _fold_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _der(cert: AnyCertificate) -> bytes:
    if isinstance(cert, x509.Certificate):
        return cert.public_bytes(serialization.Encoding.DER)
    der: bytes = cert.dump()
    return der


def _crypto_cert(cert: AnyCertificate) -> x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return cert
    return x509.load_der_x509_certificate(cert.dump())


@dataclass(frozen=True)
class SignerIdentity:
    """The signer's names as written in the certificate subject."""

    name: str
    """Common name (CN) of the certificate subject, or an empty string."""

    organisation: str
    """Organisation (O) of the certificate subject, or an empty string."""


def signer_identity(signer: Signer) -> SignerIdentity:
    """Return the common name and organisation of ``signer``'s certificate."""
    if signer.signing_cert is None:
        return SignerIdentity(name="", organisation="")
    cert = x509.load_der_x509_certificate(signer.signing_cert.dump())
    return SignerIdentity(
        name=_attr(cert.subject, NameOID.COMMON_NAME),
        organisation=_attr(cert.subject, NameOID.ORGANIZATION_NAME),
    )


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return ""
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")
