"""Signing keys: open a PKCS#12 file once, and check a certificate may sign and is the signer's."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from asn1crypto import keys as asn1_keys
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from core.vntime import format_vn_date
from signing.errors import CertificateError, KeyUnlockError

__all__ = [
    "AnyCertificate",
    "SignerIdentity",
    "check_belongs_to",
    "check_signing_certificate",
    "common_name",
    "fingerprint_sha256",
    "load_pkcs12_signer",
    "parse_fingerprint_sha256",
    "read_passphrase_file",
    "signer_identity",
]

logger = logging.getLogger(__name__)

SigningPrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)
AnyCertificate: TypeAlias = x509.Certificate | asn1_x509.Certificate
"""A certificate as cryptography parses it or as pyHanko carries it (asn1crypto)."""

_SIGNING_KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)


def read_passphrase_file(path: Path) -> bytes:
    """Return the passphrase stored in ``path``, without one trailing newline.

    The file's content is never logged nor put in an error message.
    """
    try:
        data = path.read_bytes()
    except OSError:
        raise KeyUnlockError("Không đọc được tệp mật khẩu khóa ký") from None
    if data.endswith(b"\r\n"):
        return data[:-2]
    if data.endswith(b"\n"):
        return data[:-1]
    return data


def load_pkcs12_signer(
    path: Path, passphrase: bytes | None, *, now: dt.datetime | None = None
) -> SimpleSigner:
    """Open the PKCS#12 file at ``path`` and return a signer ready to be reused.

    Raises :class:`KeyUnlockError` when the file cannot be read or opened (wrong
    passphrase, not a PKCS#12 file, no key inside) and :class:`CertificateError`
    when its certificate may not sign at ``now`` (default: the current time).
    """
    try:
        data = path.read_bytes()
    except OSError:
        raise KeyUnlockError("Không đọc được tệp khóa ký (PKCS#12)") from None
    try:
        key, cert, extra_certs = pkcs12.load_key_and_certificates(data, passphrase)
    except (ValueError, TypeError):
        # The same error comes for a wrong passphrase and a damaged file; tell
        # them apart by parsing the outer structure, which needs no passphrase.
        # ``from None`` keeps the library's exception (and its arguments) out.
        if not _looks_like_pkcs12(data):
            raise KeyUnlockError("Tệp khóa ký không phải tệp PKCS#12 hợp lệ") from None
        raise KeyUnlockError() from None
    if key is None or cert is None:
        raise KeyUnlockError("Tệp PKCS#12 không chứa khóa bí mật và chứng thư số")
    if not isinstance(key, _SIGNING_KEY_TYPES):
        raise CertificateError("Loại khóa trong tệp PKCS#12 không hỗ trợ ký số")
    check_signing_certificate(cert, now=now)

    registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]  # unannotated upstream
    registry.register_multiple(_asn1_cert(c) for c in extra_certs)
    signer = _LoadedKeySigner(
        private_key=key,
        signing_cert=_asn1_cert(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=registry,
    )
    logger.info("signing key loaded (certificate serial %x)", cert.serial_number)
    return signer


class _LoadedKeySigner(SimpleSigner):
    """A SimpleSigner that keeps the parsed private key between signatures.

    pyHanko's SimpleSigner re-parses (and re-validates) the DER key on every raw
    signature, about 30 ms for RSA-2048, twice per document; this signer does it
    once, so one loaded signer can sign a whole batch quickly.
    """

    def __init__(self, *, private_key: SigningPrivateKey, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:  # same dispatch as pyHanko's SimpleSigner.sign_raw
            name = mechanism.signature_algo
        except ValueError:
            name = mechanism["algorithm"].native
        key = self._private_key
        if name == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), _hash(digest_algorithm))
        if name == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(_hash(digest_algorithm)))
        if name == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if name == "ed448" and isinstance(key, ed448.Ed448PrivateKey):
            return key.sign(data)
        # anything else (RSASSA-PSS parameters, …): pyHanko's own implementation
        result: bytes = super().sign_raw(data, digest_algorithm)
        return result


def _hash(digest_algorithm: str) -> hashes.HashAlgorithm:
    algorithm = getattr(hashes, digest_algorithm.upper(), None)
    if not isinstance(algorithm, type) or not issubclass(algorithm, hashes.HashAlgorithm):
        raise CertificateError(f"Thuật toán băm không hỗ trợ: {digest_algorithm}")
    return algorithm()


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


_HEX_SEPARATORS = re.compile(r"[\s:]")


def parse_fingerprint_sha256(text: str) -> str:
    """Return ``text`` as a bare lowercase hex SHA-256 fingerprint (colons and spaces dropped).

    Raises :class:`CertificateError` when it is not 64 hexadecimal digits.
    """
    bare = _HEX_SEPARATORS.sub("", text).lower()
    if len(bare) != 64 or any(c not in "0123456789abcdef" for c in bare):
        raise CertificateError(
            "Dấu vân tay SHA-256 của chứng thư số không hợp lệ (cần 64 chữ số hex)"
        )
    return bare


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


def _looks_like_pkcs12(data: bytes) -> bool:
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return bool(pfx["auth_safe"]["content_type"].native == "data")
    except (ValueError, TypeError, KeyError):
        return False


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
