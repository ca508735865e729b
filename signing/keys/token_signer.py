"""pyHanko's signer for a key on a PKCS#11 token: mechanism, signature size, key lookup."""

from __future__ import annotations

from typing import Any

import pkcs11
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.signers import Signer

from signing.errors import CertificateError
from signing.keys.config import TokenConfig
from signing.keys.discovery import FoundKeys, KeyPair, issuer_chain
from signing.keys.token_errors import (
    AmbiguousKeyError,
    TokenKeyNotFoundError,
    translate_token_error,
)

__all__ = ["TokenSigner", "make_signer", "signature_bytes_reserved"]


class TokenSigner(PKCS11Signer):
    """pyHanko's PKCS#11 signer for one key chosen by :func:`signing.keys.pkcs11.open_token`.

    The key is looked up by exactly the attributes that were checked to single
    it out, the signature size estimate matches the key, and PKCS#11 errors
    while signing become :class:`SigningError`. Usable with
    ``signing.pades.sign.sign_pdf`` while its ``signing.keys.pkcs11.TokenSession`` is open.
    """

    def __init__(
        self,
        session: pkcs11.Session,
        *,
        signing_cert: asn1_x509.Certificate,
        ca_chain: list[asn1_x509.Certificate],
        key_query: dict[Attribute, Any],
        use_raw_mechanism: bool,
        raw_signature_size: int,
        sign_pin: str | None = None,
    ) -> None:
        super().__init__(
            session,
            signing_cert=signing_cert,
            ca_chain=ca_chain,
            key_id=key_query[Attribute.ID],
            other_certs_to_pull=(),
            use_raw_mechanism=use_raw_mechanism,
            base_sign_kwargs={"pin": sign_pin} if sign_pin is not None else None,
        )
        self._key_query = dict(key_query)
        self._raw_signature_size = raw_signature_size

    def signing_key_fetch_params(self) -> dict[Attribute, Any]:
        """Return the search template that singles out the chosen private key."""
        return dict(self._key_query)

    def estimate_raw_signature_size_bytes(self) -> int:
        """Return the size of one raw signature made with this key, in bytes."""
        return self._raw_signature_size

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        """Sign ``data`` on the token; a PKCS#11 error becomes a :class:`SigningError`."""
        try:
            signature: bytes = await super().async_sign_raw(data, digest_algorithm, dry_run)
        except p11.PKCS11Error as exc:
            raise translate_token_error(exc) from exc
        return signature


def signature_bytes_reserved(signer: Signer, *, timestamp_tokens: int = 0) -> int:
    """Return a safe ``bytes_reserved`` for pyHanko's ``PdfSigner.sign_pdf`` with ``signer``.

    Any pyHanko signer will do (token or PKCS#12). The value counts hex digits
    (twice the DER size, as ``/Contents`` is a hex string): the raw signature
    for the certificate's key, every certificate the CMS embeds, room for the
    signed attributes, and about 8 KB per RFC 3161 timestamp token
    (``timestamp_tokens``: 1 for PAdES B-T and above).
    """
    cert = signer.signing_cert
    if cert is None:
        raise CertificateError("Khóa ký không kèm chứng thư số")
    embedded = {c.dump() for c in signer.cert_registry} | {cert.dump()}
    der_size = (
        _raw_signature_size(x509.load_der_x509_certificate(cert.dump()))
        + sum(len(der) for der in embedded)
        + _CMS_OVERHEAD
        + timestamp_tokens * _TIMESTAMP_TOKEN_BYTES
    )
    return 2 * (-(-der_size // 1024) * 1024)


_CMS_OVERHEAD = 4096
"""Signed attributes (content type, digest, signing certificate v2, …) and CMS framing."""

_TIMESTAMP_TOKEN_BYTES = 8192
"""An RFC 3161 token with the TSA's certificate chain."""


def make_signer(
    session: pkcs11.Session,
    slot: pkcs11.Slot,
    chosen: KeyPair,
    found: FoundKeys,
    config: TokenConfig,
    sign_pin: str | None,
) -> TokenSigner:
    """The signer for the chosen key of a logged-in session, its key looked up at once."""
    key = chosen.key
    query: dict[Attribute, Any] = {
        Attribute.CLASS: ObjectClass.PRIVATE_KEY,
        Attribute.SIGN: True,
        Attribute.ID: key.key_id,
    }
    namesakes = [k for k in found.keys if k.key_id == key.key_id]
    if len(namesakes) > 1:
        if sum(1 for k in namesakes if k.label == key.label) > 1:
            raise AmbiguousKeyError(
                f"Thiết bị ký số có nhiều khóa cùng mã {key.key_id.hex() or '(trống)'} "
                "và cùng nhãn; không xác định được khóa ký"
            )
        query[Attribute.LABEL] = key.label
    signer = TokenSigner(
        session,
        signing_cert=_asn1(chosen.cert.cert),
        ca_chain=[_asn1(c) for c in issuer_chain(chosen.cert.cert, found.certificates)],
        key_query=query,
        use_raw_mechanism=_use_raw(config, slot, key.key_type),
        raw_signature_size=_raw_signature_size(chosen.cert.cert),
        sign_pin=sign_pin,
    )
    # pyHanko looks the key up on first use of the certificate: do it now, so a
    # key that cannot be found shows before any document is touched
    if signer.signing_cert is None:
        raise TokenKeyNotFoundError()
    return signer


_HASHED_MECHANISM = {KeyType.RSA: Mechanism.SHA256_RSA_PKCS, KeyType.EC: Mechanism.ECDSA_SHA256}
_RAW_MECHANISM = {KeyType.RSA: Mechanism.RSA_PKCS, KeyType.EC: Mechanism.ECDSA}


def _use_raw(config: TokenConfig, slot: pkcs11.Slot, key_type: KeyType) -> bool:
    """Hash in software when the token can only sign a digest (SHA-256, as PAdES signing uses)."""
    if config.raw_mechanism is not None:
        return config.raw_mechanism
    if key_type not in _HASHED_MECHANISM:
        return False
    try:
        mechanisms = slot.get_mechanisms()
    except p11.PKCS11Error:
        return False
    return _HASHED_MECHANISM[key_type] not in mechanisms and _RAW_MECHANISM[key_type] in mechanisms


def _raw_signature_size(cert: x509.Certificate) -> int:
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return (public.key_size + 7) // 8
    if isinstance(public, ec.EllipticCurvePublicKey):
        # DER SEQUENCE of two INTEGERs, each possibly with a leading zero byte
        return 2 * ((public.curve.key_size + 7) // 8) + 9
    if isinstance(public, ed25519.Ed25519PublicKey):
        return 64
    if isinstance(public, ed448.Ed448PublicKey):
        return 114
    return 512


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
