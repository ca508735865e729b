"""Tests of signing with keys on a PKCS#11 token, against a real SoftHSM2 token."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import secrets
import traceback
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11 import exceptions as p11
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import Signer

from signing.devpki import IssuedKey
from signing.errors import CertificateError, KeyUnlockError, SigningError
from signing.keys.certificates import common_name, fingerprint_sha256
from signing.keys.config import TokenConfig
from signing.keys.pkcs11 import open_token
from signing.keys.token_errors import (
    AmbiguousKeyError,
    TokenBusyError,
    TokenError,
    TokenKeyNotFoundError,
    TokenModuleError,
    TokenNotFoundError,
    TokenPinError,
    TokenPinLockedError,
    translate_token_error,
)
from signing.keys.token_signer import signature_bytes_reserved
from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.verify.check import verify_pdf
from tests.support.pki import TEST_PASSPHRASE, TEST_SIGNER
from tests.support.softhsm import (
    SoftToken,
    import_certificate,
    import_private_key,
    issue_signer_certificate,
    softhsm_environment,
)

OTHER_SIGNER = "Trần Thị Bình"
THIRD_SIGNER = "Lê Văn Cường"
FOURTH_SIGNER = "Phạm Thị Dung"


@dataclass(frozen=True)
class Loaded:
    """The throwaway token and what was put on it."""

    token: SoftToken
    rsa_id: bytes
    rsa_cert: x509.Certificate
    ec_id: bytes
    expired_id: bytes
    odd_key_id: bytes
    odd_cert_id: bytes
    strict_id: bytes


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, pki: IssuedKey) -> Iterator[Loaded]:
    with softhsm_environment(tmp_path_factory.mktemp("softhsm")) as hsm:
        token = hsm.create_token(
            "USB Token 01", user_pin=secrets.token_hex(4), so_pin=secrets.token_hex(8)
        )
        ids = [secrets.token_bytes(8) for _ in range(6)]
        # the official's RSA key from the test PKI, under labels that name nobody
        key, cert = _load_p12(pki.pkcs12)
        import_private_key(token, key, key_id=ids[0], label="Private Key")
        import_certificate(token, cert, cert_id=ids[0], label="Certificate")
        # a colleague's ECDSA key, under the same vendor labels
        ec_key, ec_cert = issue_signer_certificate(pki, name=OTHER_SIGNER)
        import_private_key(token, ec_key, key_id=ids[1], label="Private Key")
        import_certificate(token, ec_cert, cert_id=ids[1], label="Certificate")
        # the official's previous key, whose certificate has expired
        now = dt.datetime.now(dt.UTC)
        old_key, old_cert = issue_signer_certificate(
            pki,
            name=TEST_SIGNER,
            not_before=now - dt.timedelta(days=400),
            not_after=now - dt.timedelta(days=2),
        )
        import_private_key(token, old_key, key_id=ids[2], label="Old Key")
        import_certificate(token, old_cert, cert_id=ids[2], label="Old Certificate")
        # a key whose certificate was stored under another ID
        odd_key, odd_cert = issue_signer_certificate(
            pki,
            name=THIRD_SIGNER,
            key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )
        import_private_key(token, odd_key, key_id=ids[3], label="Key 4")
        import_certificate(token, odd_cert, cert_id=ids[4], label="Cert 4")
        # a key that wants the PIN again before each signature
        strict_key, strict_cert = issue_signer_certificate(pki, name=FOURTH_SIGNER)
        import_private_key(
            token, strict_key, key_id=ids[5], label="Signature Key", always_authenticate=True
        )
        import_certificate(token, strict_cert, cert_id=ids[5], label="Signature Certificate")
        # the CA certificate, as CA tokens carry it
        ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
        import_certificate(token, ca, cert_id=b"\xca", label="CA")
        yield Loaded(
            token=token,
            rsa_id=ids[0],
            rsa_cert=cert,
            ec_id=ids[1],
            expired_id=ids[2],
            odd_key_id=ids[3],
            odd_cert_id=ids[4],
            strict_id=ids[5],
        )


def _load_p12(path: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key, cert, _chain = pkcs12.load_key_and_certificates(path.read_bytes(), TEST_PASSPHRASE)
    assert isinstance(key, rsa.RSAPrivateKey) and cert is not None
    return key, cert


def _config(
    loaded: Loaded,
    *,
    key_id: str | None = None,
    cert_sha256: str | None = None,
    cert_subject: str | None = None,
) -> TokenConfig:
    return TokenConfig(
        module_path=loaded.token.module,
        token_label=loaded.token.label,
        key_id=key_id,
        cert_sha256=cert_sha256,
        cert_subject=cert_subject,
    )


def _sign(data: bytes, signer: Signer) -> bytes:
    return sign_pdf(data, signer, SignOptions())


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)


def test_sign_with_key_chosen_by_id(loaded: Loaded, unsigned_pdf: bytes, trust: list[Path]) -> None:
    """A key chosen by its CKA_ID signs on the token and the signature verifies as trusted."""
    config = _config(loaded, key_id=loaded.rsa_id.hex(":").upper())
    with open_token(config, loaded.token.user_pin.encode()) as token:
        assert token.key.key_id == loaded.rsa_id.hex()
        signed = _sign(unsigned_pdf, token.signer)
    report = verify_pdf(signed, trust)
    assert report.ok, report.to_dict()
    assert report.signatures[0].signer == TEST_SIGNER


def test_sign_with_key_chosen_by_certificate_fingerprint(
    loaded: Loaded, unsigned_pdf: bytes, trust: list[Path]
) -> None:
    """A key chosen by its certificate's SHA-256 fingerprint, labels notwithstanding, signs."""
    fingerprint = fingerprint_sha256(loaded.rsa_cert).upper()
    spaced = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2))
    with open_token(_config(loaded, cert_sha256=spaced), loaded.token.user_pin) as token:
        assert token.key.key_id == loaded.rsa_id.hex()
        assert token.key.key_label == "Private Key"
        signed = _sign(unsigned_pdf, token.signer)
    assert verify_pdf(signed, trust).ok


def test_choice_by_subject_skips_the_expired_namesake(loaded: Loaded) -> None:
    """Of two certificates with the official's name, the one valid now is chosen."""
    subject = unicodedata.normalize("NFD", TEST_SIGNER.upper())
    with open_token(_config(loaded, cert_subject=subject), loaded.token.user_pin) as token:
        assert token.key.key_id == loaded.rsa_id.hex()
        namesakes = [k for k in token.keys if common_name(k.certificate) == TEST_SIGNER]
        assert {k.key_id for k in namesakes} == {loaded.rsa_id.hex(), loaded.expired_id.hex()}


def test_ec_key_signs_through_the_raw_mechanism_when_needed(
    loaded: Loaded, unsigned_pdf: bytes, trust: list[Path]
) -> None:
    """An ECDSA key on a token without hash-and-sign ECDSA signs with software hashing."""
    with open_token(_config(loaded, cert_subject=OTHER_SIGNER), loaded.token.user_pin) as token:
        assert token.key.key_id == loaded.ec_id.hex()
        assert token.key.key_type == "EC"
        slot = next(s for s in _slots(loaded) if s.slot_id == token.slot_id)
        assert token.signer.use_raw_mechanism is (
            Mechanism.ECDSA_SHA256 not in slot.get_mechanisms()
        )
        signed = _sign(unsigned_pdf, token.signer)
    report = verify_pdf(signed, trust)
    assert report.ok, report.to_dict()
    assert report.signatures[0].signer == OTHER_SIGNER


def test_key_is_paired_with_its_certificate_by_public_key_when_ids_differ(
    loaded: Loaded, unsigned_pdf: bytes, trust: list[Path]
) -> None:
    """A certificate stored under another CKA_ID is still found for the key by its modulus."""
    with open_token(
        _config(loaded, key_id=loaded.odd_key_id.hex()), loaded.token.user_pin
    ) as token:
        assert common_name(token.key.certificate) == THIRD_SIGNER
        signed = _sign(unsigned_pdf, token.signer)
    report = verify_pdf(signed, trust)
    assert report.ok and report.signatures[0].signer == THIRD_SIGNER


def test_key_asking_for_the_pin_at_each_signature_signs(
    loaded: Loaded, unsigned_pdf: bytes, trust: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A CKA_ALWAYS_AUTHENTICATE key signs twice in one session, the PIN kept out of the log."""
    caplog.set_level(logging.DEBUG)
    with open_token(_config(loaded, cert_subject=FOURTH_SIGNER), loaded.token.user_pin) as token:
        assert token.key.key_id == loaded.strict_id.hex()
        first = _sign(unsigned_pdf, token.signer)
        second = _sign(unsigned_pdf, token.signer)
    for signed in (first, second):
        report = verify_pdf(signed, trust)
        assert report.ok and report.signatures[0].signer == FOURTH_SIGNER
    assert loaded.token.user_pin not in caplog.text


def test_wrong_pin_gives_key_unlock_error_without_the_pin(
    loaded: Loaded, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong PIN raises KeyUnlockError in Vietnamese; no PIN shows in it, the log or the env."""
    caplog.set_level(logging.DEBUG)
    wrong = secrets.token_hex(5)
    with pytest.raises(KeyUnlockError) as info:
        open_token(_config(loaded, key_id=loaded.rsa_id.hex()), wrong)
    error = info.value
    assert isinstance(error, TokenPinError)
    assert error.message_vi.startswith("Mã PIN của thiết bị ký không đúng")
    assert error.disposition == "fail"
    for pin in (wrong, loaded.token.user_pin):
        assert pin not in _all_text(error)
        assert pin not in caplog.text
        assert all(pin not in value for value in os.environ.values())
    # the failed attempt leaves the token usable with the right PIN
    with open_token(_config(loaded, key_id=loaded.rsa_id.hex()), loaded.token.user_pin) as token:
        assert token.key.key_id == loaded.rsa_id.hex()
    assert loaded.token.user_pin not in caplog.text


def test_missing_pin_is_asked_for(loaded: Loaded) -> None:
    """Without a PIN, on a token with no PIN pad, the official is asked to type it."""
    with pytest.raises(KeyUnlockError) as info:
        open_token(_config(loaded, key_id=loaded.rsa_id.hex()), None)
    assert "Cần nhập mã PIN" in info.value.message_vi


def test_absent_token_is_reported_in_vietnamese(loaded: Loaded) -> None:
    """Asking for a token label nobody has plugged in raises TokenNotFoundError."""
    config = TokenConfig(module_path=loaded.token.module, token_label="VNPT-CA 2026")
    with pytest.raises(TokenNotFoundError) as info:
        open_token(config, loaded.token.user_pin)
    assert isinstance(info.value, SigningError)
    assert info.value.message_vi.startswith("Không tìm thấy thiết bị ký số")
    assert "VNPT-CA 2026" in info.value.message_vi


@pytest.mark.parametrize("content", [None, b"\x7fELF not really a library"])
def test_unloadable_module_is_reported(tmp_path: Path, content: bytes | None) -> None:
    """A PKCS#11 module path that is missing or not a library raises TokenModuleError."""
    module = tmp_path / "libvendor-pkcs11.so"
    if content is not None:
        module.write_bytes(content)
    with pytest.raises(TokenModuleError) as info:
        open_token(TokenConfig(module_path=module), "1234")
    assert "thư viện PKCS#11" in info.value.message_vi


def test_unknown_key_id_is_key_not_found(loaded: Loaded) -> None:
    """A key ID that is on no key raises TokenKeyNotFoundError naming the ID."""
    missing = secrets.token_bytes(6).hex()
    with pytest.raises(TokenKeyNotFoundError) as info:
        open_token(_config(loaded, key_id=missing), loaded.token.user_pin)
    assert missing in info.value.message_vi


def test_expired_certificate_on_the_token_cannot_sign(loaded: Loaded) -> None:
    """Choosing the key with the expired certificate raises CertificateError and logs out."""
    with pytest.raises(CertificateError) as info:
        open_token(_config(loaded, key_id=loaded.expired_id.hex()), loaded.token.user_pin)
    assert "hết hạn" in info.value.message_vi
    # had the failed open stayed logged in, this would be refused as busy
    with open_token(_config(loaded, key_id=loaded.rsa_id.hex()), loaded.token.user_pin):
        pass


def test_several_usable_keys_need_a_choice(loaded: Loaded) -> None:
    """With no ID, fingerprint or subject and several valid keys, the token is ambiguous."""
    with pytest.raises(AmbiguousKeyError) as info:
        open_token(_config(loaded), loaded.token.user_pin)
    assert "CKA_ID" in info.value.message_vi


def test_key_stays_on_the_token(loaded: Loaded) -> None:
    """The signing key is sensitive and unextractable: its secret parts cannot be read."""
    with open_token(_config(loaded, key_id=loaded.rsa_id.hex()), loaded.token.user_pin) as token:
        assert token.key.sensitive is True
        assert token.key.extractable is False
        assert {k.key_id for k in token.keys} == {
            loaded.rsa_id.hex(),
            loaded.ec_id.hex(),
            loaded.expired_id.hex(),
            loaded.odd_key_id.hex(),
            loaded.strict_id.hex(),
        }
    with loaded.token.open() as session:
        keys = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
        assert len(keys) == 5
        for key in keys:
            assert isinstance(key, pkcs11.PrivateKey)
            assert key[Attribute.EXTRACTABLE] is False
            assert key[Attribute.SENSITIVE] is True
            secret = Attribute.PRIVATE_EXPONENT if key.key_type.name == "RSA" else Attribute.VALUE
            with pytest.raises(p11.AttributeSensitive):
                key[secret]


def test_open_session_holds_the_token_until_closed(loaded: Loaded, unsigned_pdf: bytes) -> None:
    """A second login while a session is open is refused as busy; after closing, signing stops."""
    config = _config(loaded, key_id=loaded.rsa_id.hex())
    with open_token(config, loaded.token.user_pin) as token:
        with pytest.raises(TokenBusyError) as info:
            open_token(config, loaded.token.user_pin)
        assert info.value.disposition == "retry"
        signer = token.signer
    assert token.closed
    with pytest.raises(SigningError):
        _sign(unsigned_pdf, signer)
    with open_token(config, loaded.token.user_pin) as again:
        assert not again.closed


def test_reserved_signature_space_covers_the_signature(loaded: Loaded, unsigned_pdf: bytes) -> None:
    """The bytes_reserved estimate holds the CMS actually produced, and grows for timestamps."""
    with open_token(_config(loaded, key_id=loaded.rsa_id.hex()), loaded.token.user_pin) as token:
        public = loaded.rsa_cert.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        assert token.signer.estimate_raw_signature_size_bytes() == public.key_size // 8
        reserved = signature_bytes_reserved(token.signer)
        with_timestamp = signature_bytes_reserved(token.signer, timestamp_tokens=1)
        signed = _sign(unsigned_pdf, token.signer)
    embedded = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    cms_size = len(embedded.signed_data.dump())
    assert 2 * cms_size <= reserved < 8 * cms_size
    assert with_timestamp >= reserved + 2 * 6000


@pytest.mark.parametrize(
    ("raised", "expected", "disposition"),
    [
        (p11.PinIncorrect(), TokenPinError, "fail"),
        (p11.PinLocked(), TokenPinLockedError, "fail"),
        (p11.PinExpired(), KeyUnlockError, "fail"),
        (p11.TokenNotPresent(), TokenNotFoundError, "fail"),
        (p11.DeviceRemoved(), TokenNotFoundError, "fail"),
        (p11.UserAlreadyLoggedIn(), TokenBusyError, "retry"),
        (p11.MechanismInvalid(), TokenError, "fail"),
        (p11.DeviceError(), TokenError, "fail"),
    ],
)
def test_pkcs11_errors_become_signing_errors(
    raised: p11.PKCS11Error, expected: type[SigningError], disposition: str
) -> None:
    """Each PKCS#11 failure maps to a SigningError subclass with a Vietnamese message."""
    error = translate_token_error(raised)
    assert isinstance(error, expected)
    assert error.disposition == disposition
    assert "thiết bị" in error.message_vi.lower() or "PIN" in error.message_vi


def test_locked_pin_message_tells_whom_to_ask() -> None:
    """A locked PIN is a KeyUnlockError telling the official to go to the CA to unlock it."""
    error = translate_token_error(p11.PinLocked())
    assert isinstance(error, KeyUnlockError)
    assert "bị khóa" in error.message_vi and "mở khóa" in error.message_vi


def _slots(loaded: Loaded) -> list[pkcs11.Slot]:
    return list(pkcs11.lib(str(loaded.token.module)).get_slots(token_present=True))
