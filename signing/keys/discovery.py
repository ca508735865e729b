"""Finding a token, its signing keys and their certificates, and choosing one key."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute, KeyType, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11

from signing.errors import CertificateError, SigningError
from signing.keys.certificates import check_signing_certificate, common_name, fingerprint_sha256
from signing.keys.config import TokenConfig
from signing.keys.token_errors import (
    AmbiguousKeyError,
    TokenKeyNotFoundError,
    TokenModuleError,
    TokenNotFoundError,
    translate_token_error,
)

__all__ = [
    "FoundKeys",
    "KeyPair",
    "TokenConfig",
    "TokenKey",
    "choose_key",
    "find_token",
    "issuer_chain",
    "load_module",
    "parse_key_id",
    "read_keys",
]


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
class KeyPair:
    key: _PrivateKey
    cert: _Certificate
    info: TokenKey


@dataclass(frozen=True)
class FoundKeys:
    pairs: tuple[KeyPair, ...]
    keys: tuple[_PrivateKey, ...]
    certificates: tuple[_Certificate, ...]


def load_module(path: Path) -> Any:
    if not path.is_file():
        raise TokenModuleError(f"Không tìm thấy thư viện PKCS#11 của thiết bị ký số: {path}")
    try:
        return pkcs11.lib(str(path))
    except p11.PKCS11Error as exc:
        raise TokenModuleError(
            f"Không nạp được thư viện PKCS#11 của thiết bị ký số: {path.name}"
        ) from exc


def find_token(library: Any, config: TokenConfig) -> tuple[pkcs11.Slot, pkcs11.Token]:
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


def read_keys(session: pkcs11.Session) -> FoundKeys:
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
    pairs: list[KeyPair] = []
    for key in keys:
        by_id = [
            c
            for c in certificates
            if key.key_id and c.cert_id == key.key_id and _same_public_key(key, c.cert) is not False
        ]
        if not by_id and key.modulus is not None:  # IDs that do not match: pair by public key
            by_id = [c for c in certificates if _same_public_key(key, c.cert)]
        pairs.extend(KeyPair(key=key, cert=c, info=_key_info(key, c)) for c in by_id)
    return FoundKeys(pairs=tuple(pairs), keys=tuple(keys), certificates=tuple(certificates))


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


def choose_key(
    found: FoundKeys,
    config: TokenConfig,
    wanted_id: bytes | None,
    wanted_fp: str | None,
    now: dt.datetime | None,
) -> KeyPair:
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


def _not_found_message(found: FoundKeys, config: TokenConfig, wanted_id: bytes | None) -> str:
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


def issuer_chain(
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


def parse_key_id(text: str | None) -> bytes | None:
    if text is None:
        return None
    bare = "".join(text.replace(":", " ").split())
    try:
        return bytes.fromhex(bare)
    except ValueError:
        raise SigningError(f"Mã khóa (CKA_ID) không hợp lệ, cần dạng hex: {text}") from None


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())
