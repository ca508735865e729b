"""Signing keys on PKCS#11 tokens and HSMs: the key signs on the device and never leaves it."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from types import TracebackType
from typing import Any

import pkcs11
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.signers import Signer

from signing.errors import CertificateError, KeyUnlockError
from signing.keys.certificates import check_signing_certificate, parse_fingerprint_sha256
from signing.keys.discovery import (
    FoundKeys,
    KeyPair,
    TokenConfig,
    TokenKey,
    choose_key,
    find_token,
    issuer_chain,
    load_module,
    parse_key_id,
    read_keys,
)
from signing.keys.token_errors import (
    AmbiguousKeyError,
    TokenBusyError,
    TokenKeyNotFoundError,
    TokenPinError,
    TokenPinLockedError,
    translate_token_error,
)

__all__ = [
    "TokenSession",
    "TokenSigner",
    "open_token",
    "signature_bytes_reserved",
]

logger = logging.getLogger(__name__)


# --- the pyHanko signer ---------------------------------------------------------


class TokenSigner(PKCS11Signer):
    """pyHanko's PKCS#11 signer for one key chosen by :func:`open_token`.

    The key is looked up by exactly the attributes that were checked to single
    it out, the signature size estimate matches the key, and PKCS#11 errors
    while signing become :class:`SigningError`. Usable with
    ``signing.pades.sign.sign_pdf`` while its :class:`TokenSession` is open.
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


# --- the session ------------------------------------------------------------------


class TokenSession:
    """A logged-in session on a token with the chosen key ready to sign; close it after use.

    Use it as a context manager around the documents of one approval::

        with open_token(config, pin) as token:
            for data in documents:
                signed = sign_pdf(data, token.signer, options)

    One thread at a time; and open it in the process that signs (a forked child
    must open its own: PKCS#11 modules do not survive fork).
    """

    def __init__(
        self,
        session: pkcs11.Session,
        *,
        signer: TokenSigner,
        key: TokenKey,
        keys: tuple[TokenKey, ...],
        slot_id: int,
        claim: tuple[str, int],
    ) -> None:
        self._session: pkcs11.Session | None = session
        self._claim = claim
        self.signer = signer
        """The pyHanko signer for ``signing.pades.sign.sign_pdf``."""
        self.key = key
        """The chosen key and its certificate."""
        self.keys = keys
        """Every key with a certificate found on the token (to help configuration)."""
        self.slot_id = slot_id
        """Slot ID of the token."""

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._session is None

    def close(self) -> None:
        """Log out and close the session; safe to call twice, never raises."""
        session, self._session = self._session, None
        if session is None:
            return
        _close_quietly(session)
        _release_token(self._claim)
        logger.info("PKCS#11 session closed (slot %s)", self.slot_id)

    def __enter__(self) -> TokenSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_token(
    config: TokenConfig, pin: str | bytes | None, *, now: dt.datetime | None = None
) -> TokenSession:
    """Log in to the token described by ``config`` and prepare its signing key.

    ``pin`` is the user PIN; it goes to the module's C_Login in this process and
    nowhere else (not logged, not in any error). None (or empty) is accepted only
    for a token with a PIN pad (protected authentication path). The key is chosen
    by ``config`` (ID, certificate fingerprint or subject; any one key when none
    is given) and its certificate must be able to sign at ``now``
    (:func:`signing.keys.certificates.check_signing_certificate`). Raises a
    :class:`SigningError` subclass for every failure.
    """
    started = time.perf_counter()
    wanted_id = parse_key_id(config.key_id)
    wanted_fp = parse_fingerprint_sha256(config.cert_sha256) if config.cert_sha256 else None
    library = load_module(config.module_path)
    slot, token = find_token(library, config)
    claim = (str(config.module_path.resolve()), slot.slot_id)
    _claim_token(claim)
    try:
        user_pin = _user_pin(token, pin)
        session = _login(token, user_pin)
    except BaseException:
        _release_token(claim)
        raise
    try:
        found = read_keys(session)
        chosen = choose_key(found, config, wanted_id, wanted_fp, now)
        check_signing_certificate(chosen.cert.cert, now=now)
        # a key marked CKA_ALWAYS_AUTHENTICATE needs the PIN again for each
        # signature (context-specific login); only then does the signer keep it
        sign_pin = (
            user_pin if chosen.key.always_authenticate and isinstance(user_pin, str) else None
        )
        signer = _make_signer(session, slot, chosen, found, config, sign_pin)
    except BaseException as exc:
        _close_quietly(session)
        _release_token(claim)
        if isinstance(exc, p11.PKCS11Error):
            raise translate_token_error(exc) from exc
        raise
    key = chosen.info
    if key.sensitive is False or key.extractable is True:
        logger.warning(
            "the signing key on the token can be read out (CKA_SENSITIVE=%s, CKA_EXTRACTABLE=%s)",
            key.sensitive,
            key.extractable,
        )
    logger.info(
        "PKCS#11 key ready: slot %s, key id %s, certificate %s…, %s mechanism, in %.0f ms",
        slot.slot_id,
        key.key_id or "(none)",
        key.cert_sha256[:16],
        "raw" if signer.use_raw_mechanism else "hash-and-sign",
        (time.perf_counter() - started) * 1000,
    )
    return TokenSession(
        session,
        signer=signer,
        key=key,
        keys=tuple(pair.info for pair in found.pairs),
        slot_id=slot.slot_id,
        claim=claim,
    )


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


# --- internals --------------------------------------------------------------------

_claimed: set[tuple[str, int]] = set()
"""(module, slot) of the tokens this process is logged in to.

PKCS#11 login state belongs to the application, not the session: while one
session is logged in, a second login is refused by the token, and python-pkcs11
would leave the second session open. Refusing here first avoids both.
"""
_claimed_lock = threading.Lock()


def _claim_token(claim: tuple[str, int]) -> None:
    with _claimed_lock:
        if claim in _claimed:
            raise TokenBusyError()
        _claimed.add(claim)


def _release_token(claim: tuple[str, int]) -> None:
    with _claimed_lock:
        _claimed.discard(claim)


def _close_quietly(session: pkcs11.Session) -> None:
    try:
        session.close()  # C_Logout, then C_CloseSession
    except p11.PKCS11Error as exc:  # e.g. the token was pulled out meanwhile
        logger.warning("closing the PKCS#11 session failed: %s", type(exc).__name__)


def _user_pin(token: pkcs11.Token, pin: str | bytes | None) -> str | object:
    """The PIN as python-pkcs11 takes it, or PROTECTED_AUTH for a token with a PIN pad."""
    if token.flags & TokenFlag.USER_PIN_LOCKED:
        raise TokenPinLockedError()
    if pin is None or len(pin) == 0:
        if not token.flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH:
            raise KeyUnlockError("Cần nhập mã PIN của thiết bị ký")
        return pkcs11.PROTECTED_AUTH  # the PIN is typed on the device's own keypad
    if isinstance(pin, bytes):
        try:
            return pin.decode("utf-8")
        except UnicodeDecodeError:
            raise TokenPinError() from None
    return pin


def _login(token: pkcs11.Token, user_pin: str | object) -> pkcs11.Session:
    try:
        return token.open(user_pin=user_pin)
    except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange):
        logger.info("PKCS#11 login refused: wrong PIN")
        # ``from None``: nothing of the failed login goes along with the error
        raise TokenPinError(_wrong_pin_message(token)) from None
    except p11.PKCS11Error as exc:
        raise translate_token_error(exc) from None


def _wrong_pin_message(token: pkcs11.Token) -> str:
    message = TokenPinError.default_message_vi
    try:
        flags = token.slot.get_token().flags  # fresh token info: the retry counters
    except p11.PKCS11Error:
        return message
    if flags & TokenFlag.USER_PIN_LOCKED:
        return TokenPinLockedError.default_message_vi
    if flags & TokenFlag.USER_PIN_FINAL_TRY:
        return f"{message}; chỉ còn một lần thử trước khi thiết bị bị khóa"
    if flags & TokenFlag.USER_PIN_COUNT_LOW:
        return f"{message}; thiết bị sẽ bị khóa nếu tiếp tục nhập sai"
    return message


def _make_signer(
    session: pkcs11.Session,
    slot: pkcs11.Slot,
    chosen: KeyPair,
    found: FoundKeys,
    config: TokenConfig,
    sign_pin: str | None,
) -> TokenSigner:
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
