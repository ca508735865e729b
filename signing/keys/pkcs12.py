"""PKCS#12 key files: their passphrase read safely, opened once, a signer reused for a batch."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from core.passphrase import PassphraseFileError
from core.passphrase import read_passphrase_file as _read_passphrase_file
from signing.errors import CertificateError, KeyUnlockError
from signing.keys.certificates import check_signing_certificate

__all__ = ["load_pkcs12_signer", "read_passphrase_file"]

logger = logging.getLogger(__name__)

SigningPrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)

_SIGNING_KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)


def read_passphrase_file(
    path: Path, *, service_only: bool = False, label: str = "khóa ký"
) -> bytes:
    """Return a key's passphrase from ``path`` (see :func:`core.passphrase.read_passphrase_file`).

    A file that cannot be used raises :class:`KeyUnlockError` with the reason in
    Vietnamese; the content is never logged nor put in a message.
    """
    try:
        return _read_passphrase_file(path, service_only=service_only, label=label)
    except PassphraseFileError as exc:
        raise KeyUnlockError(exc.message_vi) from None


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


def _looks_like_pkcs12(data: bytes) -> bool:
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return bool(pfx["auth_safe"]["content_type"].native == "data")
    except (ValueError, TypeError, KeyError):
        return False


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
