"""Signing keys on PKCS#11 tokens and HSMs: the key signs on the device and never leaves it."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from types import TracebackType

import pkcs11
from pkcs11 import TokenFlag
from pkcs11 import exceptions as p11

from signing.errors import KeyUnlockError
from signing.keys.certificates import check_signing_certificate
from signing.keys.config import TokenConfig, parse_fingerprint_sha256
from signing.keys.discovery import (
    TokenKey,
    choose_key,
    find_token,
    load_module,
    parse_key_id,
    read_keys,
)
from signing.keys.token_errors import (
    TokenBusyError,
    TokenPinError,
    TokenPinLockedError,
    translate_token_error,
)
from signing.keys.token_signer import TokenSigner, make_signer

__all__ = ["TokenSession", "open_token"]

logger = logging.getLogger(__name__)


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
        signer = make_signer(session, slot, chosen, found, config, sign_pin)
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
