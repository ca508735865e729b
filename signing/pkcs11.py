"""Signing keys on PKCS#11 tokens and HSMs: the key signs on the device and never leaves it."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pkcs11
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.signers import Signer

from signing.errors import CertificateError, KeyUnlockError, SigningError
from signing.keys import (
    check_signing_certificate,
    common_name,
    fingerprint_sha256,
    parse_fingerprint_sha256,
)

__all__ = [
    "AmbiguousKeyError",
    "TokenBusyError",
    "TokenConfig",
    "TokenError",
    "TokenKey",
    "TokenKeyNotFoundError",
    "TokenModuleError",
    "TokenNotFoundError",
    "TokenPinError",
    "TokenPinLockedError",
    "TokenSession",
    "TokenSigner",
    "open_token",
    "signature_bytes_reserved",
    "translate_token_error",
]

logger = logging.getLogger(__name__)

# --- errors -------------------------------------------------------------------


class TokenError(SigningError):
    """The token or HSM reported a problem (device error, unsupported mechanism, …)."""

    default_message_vi = "Thiết bị ký số báo lỗi; hãy rút thiết bị ra, cắm lại và thử lại"


class TokenModuleError(TokenError):
    """The PKCS#11 module (the token vendor's shared library) cannot be loaded."""

    default_message_vi = "Không nạp được thư viện PKCS#11 của thiết bị ký số"


class TokenNotFoundError(TokenError):
    """No token matching the configuration is present (unplugged, wrong label or slot)."""

    default_message_vi = "Không tìm thấy thiết bị ký số; hãy cắm thiết bị và thử lại"


class TokenKeyNotFoundError(TokenError):
    """The token holds no signing key (with its certificate) matching the configuration."""

    default_message_vi = "Không tìm thấy khóa ký phù hợp trên thiết bị ký số"


class AmbiguousKeyError(TokenError):
    """Several keys on the token match; the configuration must name one."""

    default_message_vi = (
        "Thiết bị ký số có nhiều khóa ký phù hợp; hãy chỉ định mã khóa (CKA_ID) "
        "hoặc dấu vân tay SHA-256 của chứng thư số"
    )


class TokenBusyError(TokenError):
    """The token is in use by another signing session of this process; try again later."""

    default_message_vi = "Thiết bị ký số đang được dùng cho một phiên ký khác; hãy thử lại sau"
    default_disposition = "retry"


class TokenPinError(KeyUnlockError):
    """The PIN typed for the token is wrong."""

    default_message_vi = "Mã PIN của thiết bị ký không đúng"


class TokenPinLockedError(KeyUnlockError):
    """The token's user PIN is locked after too many wrong attempts."""

    default_message_vi = (
        "Mã PIN của thiết bị ký đã bị khóa do nhập sai quá số lần cho phép; "
        "hãy liên hệ tổ chức cung cấp dịch vụ chứng thực chữ ký số để mở khóa"
    )


_ERROR_MAP: tuple[tuple[tuple[type[p11.PKCS11Error], ...], type[SigningError], str | None], ...] = (
    ((p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange), TokenPinError, None),
    ((p11.PinLocked,), TokenPinLockedError, None),
    (
        (p11.PinExpired,),
        KeyUnlockError,
        "Mã PIN của thiết bị ký đã hết hạn; hãy đổi mã PIN bằng phần mềm của nhà cung cấp",
    ),
    ((p11.UserPinNotInitialized,), KeyUnlockError, "Thiết bị ký số chưa được đặt mã PIN"),
    (
        (p11.NoSuchToken, p11.TokenNotPresent, p11.TokenNotRecognised, p11.DeviceRemoved),
        TokenNotFoundError,
        None,
    ),
    ((p11.SlotIDInvalid,), TokenNotFoundError, "Khe (slot) của thiết bị ký số không tồn tại"),
    (
        (
            p11.UserAlreadyLoggedIn,
            p11.AnotherUserAlreadyLoggedIn,
            p11.SessionCount,
            p11.OperationActive,
        ),
        TokenBusyError,
        None,
    ),
    (
        (p11.UserNotLoggedIn, p11.SessionClosed, p11.SessionHandleInvalid),
        TokenError,
        "Phiên làm việc với thiết bị ký số đã đóng; hãy nhập lại mã PIN",
    ),
    ((p11.NoSuchKey, p11.KeyHandleInvalid, p11.ObjectHandleInvalid), TokenKeyNotFoundError, None),
    ((p11.MultipleObjectsReturned,), AmbiguousKeyError, None),
    (
        (
            p11.MechanismInvalid,
            p11.MechanismParamInvalid,
            p11.FunctionNotSupported,
            p11.KeyTypeInconsistent,
        ),
        TokenError,
        "Thiết bị ký số không hỗ trợ thuật toán ký cần dùng",
    ),
    ((p11.FunctionCancelled,), TokenError, "Thao tác ký trên thiết bị đã bị hủy"),
)


def translate_token_error(exc: p11.PKCS11Error) -> SigningError:
    """Return the :class:`SigningError` (with a Vietnamese message) for a PKCS#11 error.

    Wrong PIN gives :class:`TokenPinError`, a locked PIN :class:`TokenPinLockedError`
    (both :class:`KeyUnlockError`), an absent or removed token
    :class:`TokenNotFoundError`, a token already logged in by another session
    :class:`TokenBusyError` (retry), anything else :class:`TokenError`.
    """
    logger.warning("PKCS#11 error %s", type(exc).__name__)
    for kinds, error, message in _ERROR_MAP:
        if isinstance(exc, kinds):
            return error(message)
    return TokenError()


# --- configuration and results --------------------------------------------------


@dataclass(frozen=True)
class TokenConfig:
    module_path: Path
    """PKCS#11 module of the token or HSM, e.g. /usr/lib/softhsm/libsofthsm2.so."""

    token_label: str | None = None
    """Label of the token; None accepts any token (the only one present, or in ``slot_id``)."""

    slot_id: int | None = None
    """Slot ID as the module numbers it (``pkcs11-tool -L``); None looks in every slot."""

    key_id: str | None = None
    """CKA_ID of the private key in hex (colons and spaces allowed); None: any key."""

    cert_sha256: str | None = None
    """SHA-256 fingerprint (hex) of the signer's certificate on the token; None: any."""

    cert_subject: str | None = None
    """Subject of the signer's certificate: its common name or its RFC 4514 string.

    Compared after Unicode NFC, ignoring case. When several certificates match,
    the one valid now is taken (a renewed certificate next to the expired one).
    """

    raw_mechanism: bool | None = None
    """Hash in software and sign the digest on the token (CKM_RSA_PKCS, CKM_ECDSA).

    None decides from the token's mechanism list: raw only when the token lacks
    the hash-and-sign mechanism (CKM_SHA256_RSA_PKCS, CKM_ECDSA_SHA256).
    """


@dataclass(frozen=True)
class TokenKey:
    """A private key found on the token together with its certificate."""

    key_id: str
    """CKA_ID of the private key, lowercase hex (empty when the key has none)."""

    key_label: str
    """CKA_LABEL of the private key (vendor labels often say nothing about the owner)."""

    key_type: str
    """Key algorithm as PKCS#11 names it: RSA, EC, EC_EDWARDS, …"""

    cert_sha256: str
    """SHA-256 fingerprint of the paired certificate, lowercase hex."""

    subject: str
    """Subject of the paired certificate in RFC 4514 form."""

    not_after: dt.datetime
    """End of the certificate's validity period, in UTC."""

    sensitive: bool | None
    """CKA_SENSITIVE of the key: True means its secret parts cannot be read (None: unknown)."""

    extractable: bool | None
    """CKA_EXTRACTABLE of the key: False means it can never be exported (None: unknown)."""

    certificate: x509.Certificate = field(repr=False, compare=False)
    """The paired certificate."""


# --- the pyHanko signer ---------------------------------------------------------


class TokenSigner(PKCS11Signer):
    """pyHanko's PKCS#11 signer for one key chosen by :func:`open_token`.

    The key is looked up by exactly the attributes that were checked to single
    it out, the signature size estimate matches the key, and PKCS#11 errors
    while signing become :class:`SigningError`. Usable with
    ``signing.pades.sign_pdf`` while its :class:`TokenSession` is open.
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
        """The pyHanko signer for ``signing.pades.sign_pdf``."""
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
    (:func:`signing.keys.check_signing_certificate`). Raises a
    :class:`SigningError` subclass for every failure.
    """
    started = time.perf_counter()
    wanted_id = _parse_key_id(config.key_id)
    wanted_fp = parse_fingerprint_sha256(config.cert_sha256) if config.cert_sha256 else None
    library = _load_module(config.module_path)
    slot, token = _find_token(library, config)
    claim = (str(config.module_path.resolve()), slot.slot_id)
    _claim_token(claim)
    try:
        user_pin = _user_pin(token, pin)
        session = _login(token, user_pin)
    except BaseException:
        _release_token(claim)
        raise
    try:
        found = _read_keys(session)
        chosen = _choose(found, config, wanted_id, wanted_fp, now)
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


@dataclass(frozen=True)
class _PrivateKey:
    handle: pkcs11.PrivateKey
    key_id: bytes
    label: str
    key_type: KeyType
    modulus: int | None
    sensitive: bool | None
    extractable: bool | None
    always_authenticate: bool


@dataclass(frozen=True)
class _Certificate:
    cert_id: bytes
    cert: x509.Certificate


@dataclass(frozen=True)
class _Pair:
    key: _PrivateKey
    cert: _Certificate
    info: TokenKey


@dataclass(frozen=True)
class _Found:
    pairs: tuple[_Pair, ...]
    keys: tuple[_PrivateKey, ...]
    certificates: tuple[_Certificate, ...]


def _load_module(path: Path) -> Any:
    if not path.is_file():
        raise TokenModuleError(f"Không tìm thấy thư viện PKCS#11 của thiết bị ký số: {path}")
    try:
        return pkcs11.lib(str(path))
    except p11.PKCS11Error as exc:
        raise TokenModuleError(
            f"Không nạp được thư viện PKCS#11 của thiết bị ký số: {path.name}"
        ) from exc


def _find_token(library: Any, config: TokenConfig) -> tuple[pkcs11.Slot, pkcs11.Token]:
    wanted_label = _fold(config.token_label) if config.token_label is not None else None
    try:
        slots: list[pkcs11.Slot] = library.get_slots(token_present=True)
        matches: list[tuple[pkcs11.Slot, pkcs11.Token]] = []
        for slot in slots:
            if config.slot_id is not None and slot.slot_id != config.slot_id:
                continue
            try:
                token = slot.get_token()
            except (p11.TokenNotPresent, p11.TokenNotRecognised):
                continue
            if not token.flags & TokenFlag.TOKEN_INITIALIZED:
                continue  # an empty slot an HSM or SoftHSM offers for a new token
            if wanted_label is not None and _fold(token.label) != wanted_label:
                continue
            matches.append((slot, token))
    except p11.PKCS11Error as exc:
        raise translate_token_error(exc) from exc
    if not matches:
        where = []
        if config.token_label is not None:
            where.append(f"tên “{config.token_label}”")
        if config.slot_id is not None:
            where.append(f"khe (slot) {config.slot_id}")
        detail = f" có {', '.join(where)}" if where else ""
        raise TokenNotFoundError(
            f"Không tìm thấy thiết bị ký số{detail}; hãy cắm thiết bị và thử lại"
        )
    if len(matches) > 1:
        raise TokenNotFoundError(
            "Có nhiều thiết bị ký số đang cắm; hãy chỉ định tên (label) hoặc khe (slot)"
        )
    return matches[0]


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


def _read_keys(session: pkcs11.Session) -> _Found:
    certificates: list[_Certificate] = []
    for obj in list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})):
        try:
            cert = x509.load_der_x509_certificate(obj[Attribute.VALUE])
        except (p11.PKCS11Error, ValueError, TypeError):
            continue  # not an X.509 certificate, or unreadable
        certificates.append(_Certificate(cert_id=_read(obj, Attribute.ID, b""), cert=cert))
    keys: list[_PrivateKey] = []
    for obj in list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})):
        if _read(obj, Attribute.SIGN, True) is False or not isinstance(obj, pkcs11.PrivateKey):
            continue
        try:
            key_type = obj.key_type
        except (ValueError, p11.PKCS11Error):
            continue  # a vendor-defined key type pyHanko cannot sign with
        modulus = _read(obj, Attribute.MODULUS, None)
        keys.append(
            _PrivateKey(
                handle=obj,
                key_id=_read(obj, Attribute.ID, b""),
                label=_read(obj, Attribute.LABEL, ""),
                key_type=key_type,
                modulus=int.from_bytes(modulus, "big") if modulus else None,
                sensitive=_read(obj, Attribute.SENSITIVE, None),
                extractable=_read(obj, Attribute.EXTRACTABLE, None),
                always_authenticate=_read(obj, Attribute.ALWAYS_AUTHENTICATE, False) is True,
            )
        )
    pairs: list[_Pair] = []
    for key in keys:
        by_id = [
            c
            for c in certificates
            if key.key_id and c.cert_id == key.key_id and _same_public_key(key, c.cert) is not False
        ]
        if not by_id and key.modulus is not None:  # IDs that do not match: pair by public key
            by_id = [c for c in certificates if _same_public_key(key, c.cert)]
        pairs.extend(_Pair(key=key, cert=c, info=_key_info(key, c)) for c in by_id)
    return _Found(pairs=tuple(pairs), keys=tuple(keys), certificates=tuple(certificates))


def _read(obj: pkcs11.Object, attribute: Attribute, default: Any) -> Any:
    try:
        return obj[attribute]
    except (p11.AttributeTypeInvalid, p11.AttributeSensitive, p11.FunctionFailed):
        return default


def _same_public_key(key: _PrivateKey, cert: x509.Certificate) -> bool | None:
    """True or False when the token tells the RSA modulus; None when it cannot be told."""
    if key.modulus is None:
        return None
    public = cert.public_key()
    return isinstance(public, rsa.RSAPublicKey) and public.public_numbers().n == key.modulus


def _key_info(key: _PrivateKey, cert: _Certificate) -> TokenKey:
    return TokenKey(
        key_id=key.key_id.hex(),
        key_label=key.label,
        key_type=key.key_type.name,
        cert_sha256=fingerprint_sha256(cert.cert),
        subject=cert.cert.subject.rfc4514_string(),
        not_after=cert.cert.not_valid_after_utc,
        sensitive=key.sensitive,
        extractable=key.extractable,
        certificate=cert.cert,
    )


def _choose(
    found: _Found,
    config: TokenConfig,
    wanted_id: bytes | None,
    wanted_fp: str | None,
    now: dt.datetime | None,
) -> _Pair:
    wanted_subject = _fold(config.cert_subject) if config.cert_subject is not None else None
    matches = [
        pair
        for pair in found.pairs
        if (wanted_id is None or pair.key.key_id == wanted_id)
        and (wanted_fp is None or pair.info.cert_sha256 == wanted_fp)
        and (wanted_subject is None or _subject_matches(pair.cert.cert, wanted_subject))
    ]
    if not matches:
        raise TokenKeyNotFoundError(_not_found_message(found, config, wanted_id))
    if len(matches) > 1:
        usable = [pair for pair in matches if _can_sign(pair.cert.cert, now)]
        if len(usable) != 1:
            raise AmbiguousKeyError()
        matches = usable
    return matches[0]


def _not_found_message(found: _Found, config: TokenConfig, wanted_id: bytes | None) -> str:
    if wanted_id is not None and any(k.key_id == wanted_id for k in found.keys):
        return (
            f"Thiết bị ký số có khóa mã {wanted_id.hex()} nhưng không có chứng thư số "
            "tương ứng với khóa đó"
        )
    criteria = []
    if wanted_id is not None:
        criteria.append(f"mã khóa {wanted_id.hex()}")
    if config.cert_sha256 is not None:
        criteria.append("dấu vân tay chứng thư đã cấu hình")
    if config.cert_subject is not None:
        criteria.append("tên chủ thể chứng thư đã cấu hình")
    detail = f" theo {', '.join(criteria)}" if criteria else ""
    return f"Không tìm thấy khóa ký kèm chứng thư số{detail} trên thiết bị ký số"


def _subject_matches(cert: x509.Certificate, wanted: str) -> bool:
    return wanted in (_fold(common_name(cert)), _fold(cert.subject.rfc4514_string()))


def _can_sign(cert: x509.Certificate, now: dt.datetime | None) -> bool:
    try:
        check_signing_certificate(cert, now=now)
    except CertificateError:
        return False
    return True


def _make_signer(
    session: pkcs11.Session,
    slot: pkcs11.Slot,
    chosen: _Pair,
    found: _Found,
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
        ca_chain=[_asn1(c) for c in _issuers(chosen.cert.cert, found.certificates)],
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


def _issuers(
    cert: x509.Certificate, certificates: tuple[_Certificate, ...]
) -> list[x509.Certificate]:
    """The chain above ``cert`` among the token's certificates, nearest issuer first."""
    chain: list[x509.Certificate] = []
    seen = {fingerprint_sha256(cert)}
    current = cert
    while current.issuer != current.subject:
        issuer = next(
            (
                c.cert
                for c in certificates
                if c.cert.subject == current.issuer
                and fingerprint_sha256(c.cert) not in seen
                and _issued_by(current, c.cert)
            ),
            None,
        )
        if issuer is None:
            break
        chain.append(issuer)
        seen.add(fingerprint_sha256(issuer))
        current = issuer
    return chain


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


_HASHED_MECHANISM = {KeyType.RSA: Mechanism.SHA256_RSA_PKCS, KeyType.EC: Mechanism.ECDSA_SHA256}
_RAW_MECHANISM = {KeyType.RSA: Mechanism.RSA_PKCS, KeyType.EC: Mechanism.ECDSA}


def _use_raw(config: TokenConfig, slot: pkcs11.Slot, key_type: KeyType) -> bool:
    """Hash in software when the token can only sign a digest (SHA-256, as signing.pades uses)."""
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


def _parse_key_id(text: str | None) -> bytes | None:
    if text is None:
        return None
    bare = "".join(text.replace(":", " ").split())
    try:
        return bytes.fromhex(bare)
    except ValueError:
        raise SigningError(f"Mã khóa (CKA_ID) không hợp lệ, cần dạng hex: {text}") from None


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
