"""Tests of the development PKI and of opening PKCS#12 signing keys."""

from __future__ import annotations

import datetime as dt
import logging
import stat
import traceback
import unicodedata
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from signing.devpki import CA_KEY_FILE, IssuedKey, make_dev_pki
from signing.errors import CertificateError, KeyUnlockError, SigningError
from signing.keys.certificates import signer_identity
from signing.keys.pkcs12 import load_pkcs12_signer, read_passphrase_file
from tests.support.pki import (
    TEST_OFFICE,
    TEST_PASSPHRASE,
    TEST_SIGNER,
    issue_test_signer,
    make_test_pki,
)

WRONG = b"sai-mat-khau-9f3c1b"


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)


def test_dev_pki_files_are_private(pki: IssuedKey) -> None:
    """Every file of the development PKI is readable by its owner only."""
    for path in (pki.ca_cert, pki.pkcs12, pki.cert, pki.ca_cert.parent / CA_KEY_FILE):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_dev_pki_is_idempotent(tmp_path: Path) -> None:
    """A second call loads the existing files instead of making a new key."""
    first = make_test_pki(tmp_path)
    before = {p: p.read_bytes() for p in (first.ca_cert, first.pkcs12, first.cert)}
    second = make_test_pki(tmp_path)
    assert second == first
    assert {p: p.read_bytes() for p in before} == before


def test_dev_pki_certificates_have_the_agreed_profile(pki: IssuedKey) -> None:
    """The CA says it is for development and the signer certificate may sign documents."""
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    ca_name = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert "DEVELOPMENT" in str(ca_name) and "không dùng cho văn bản thật" in str(ca_name)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    cert = x509.load_pem_x509_certificate(pki.cert.read_bytes())
    assert cert.issuer == ca.subject
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    subject = {a.oid: a.value for a in cert.subject}
    assert subject[NameOID.COMMON_NAME] == TEST_SIGNER
    assert subject[NameOID.ORGANIZATION_NAME] == TEST_OFFICE
    assert subject[NameOID.COUNTRY_NAME] == "VN"
    # the names are UTF8String, as Vietnamese needs
    parsed = asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))
    for rdn in parsed.subject.chosen:
        for attribute in rdn:
            if attribute["type"].native in ("common_name", "organization_name"):
                assert attribute["value"].name == "utf8_string"


def test_dev_pki_production_name_and_nfc(tmp_path: Path) -> None:
    """Without the development flag the CA name carries no warning, and names are NFC."""
    decomposed = unicodedata.normalize("NFD", "Trần Thị Bình")
    issued = make_dev_pki(
        tmp_path,
        signer_name=decomposed,
        organisation=TEST_OFFICE,
        passphrase=TEST_PASSPHRASE,
        development=False,
        valid_days=30,
    )
    ca = x509.load_pem_x509_certificate(issued.ca_cert.read_bytes())
    assert "DEVELOPMENT" not in ca.subject.rfc4514_string()
    cert = x509.load_pem_x509_certificate(issued.cert.read_bytes())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == unicodedata.normalize("NFC", decomposed) != decomposed
    assert cert.not_valid_after_utc - cert.not_valid_before_utc < dt.timedelta(days=31)


def test_load_signer_reads_key_certificate_and_chain(pki: IssuedKey) -> None:
    """The loaded signer carries the signer's certificate and the CA certificate."""
    signer = load_pkcs12_signer(pki.pkcs12, TEST_PASSPHRASE)
    identity = signer_identity(signer)
    assert (identity.name, identity.organisation) == (TEST_SIGNER, TEST_OFFICE)
    ca_der = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes()).public_bytes(Encoding.DER)
    assert ca_der in [c.dump() for c in signer.cert_registry]


def test_wrong_passphrase_gives_vietnamese_error_without_the_secret(
    pki: IssuedKey, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong passphrase raises KeyUnlockError whose text and log never show it."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(KeyUnlockError) as info:
        load_pkcs12_signer(pki.pkcs12, WRONG)
    error = info.value
    assert error.message_vi == "Mật khẩu khóa ký không đúng"
    assert error.disposition == "fail"
    assert isinstance(error, SigningError)
    for secret in (WRONG, TEST_PASSPHRASE):
        assert secret.decode() not in _all_text(error)
        assert secret.decode() not in caplog.text


def test_right_passphrase_is_not_logged(pki: IssuedKey, caplog: pytest.LogCaptureFixture) -> None:
    """Opening the key logs something, but never the passphrase."""
    caplog.set_level(logging.DEBUG)
    load_pkcs12_signer(pki.pkcs12, TEST_PASSPHRASE)
    assert caplog.records
    assert TEST_PASSPHRASE.decode() not in caplog.text


def test_not_a_pkcs12_file(tmp_path: Path) -> None:
    """A file that is not PKCS#12 is reported as such, not as a wrong passphrase."""
    bogus = tmp_path / "khoa.p12"
    bogus.write_bytes(b"day khong phai PKCS#12")
    with pytest.raises(KeyUnlockError) as info:
        load_pkcs12_signer(bogus, TEST_PASSPHRASE)
    assert "PKCS#12" in info.value.message_vi


def test_missing_key_file(tmp_path: Path) -> None:
    """A missing key file raises KeyUnlockError with a Vietnamese message."""
    with pytest.raises(KeyUnlockError) as info:
        load_pkcs12_signer(tmp_path / "khong-co.p12", TEST_PASSPHRASE)
    assert "Không đọc được" in info.value.message_vi


def test_expired_certificate_is_rejected(pki: IssuedKey, tmp_path: Path) -> None:
    """A certificate past its validity period cannot be loaded for signing."""
    now = dt.datetime.now(dt.UTC)
    p12 = issue_test_signer(
        pki, tmp_path, not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=1)
    )
    with pytest.raises(CertificateError) as info:
        load_pkcs12_signer(p12, TEST_PASSPHRASE)
    assert "hết hạn" in info.value.message_vi


def test_not_yet_valid_certificate_is_rejected(pki: IssuedKey) -> None:
    """With an injected clock before the validity period the certificate is refused."""
    with pytest.raises(CertificateError) as info:
        load_pkcs12_signer(pki.pkcs12, TEST_PASSPHRASE, now=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert "chưa có hiệu lực" in info.value.message_vi


def test_certificate_without_signing_key_usage_is_rejected(pki: IssuedKey, tmp_path: Path) -> None:
    """A certificate allowing neither digitalSignature nor nonRepudiation is refused."""
    p12 = issue_test_signer(pki, tmp_path, digital_signature=False, non_repudiation=False)
    with pytest.raises(CertificateError) as info:
        load_pkcs12_signer(p12, TEST_PASSPHRASE)
    assert "key usage" in info.value.message_vi


def test_non_repudiation_alone_is_enough(pki: IssuedKey, tmp_path: Path) -> None:
    """A certificate with only nonRepudiation, as some CAs issue, may sign."""
    p12 = issue_test_signer(pki, tmp_path, digital_signature=False, non_repudiation=True)
    assert signer_identity(load_pkcs12_signer(p12, TEST_PASSPHRASE)).name == TEST_SIGNER


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"bi-mat\n", b"bi-mat"),
        (b"bi-mat\r\n", b"bi-mat"),
        (b"bi-mat", b"bi-mat"),
        (b"bi-mat\n\n", b"bi-mat\n"),
        (b" bi mat \n", b" bi mat "),
    ],
)
def test_read_passphrase_file_strips_one_newline(
    tmp_path: Path, content: bytes, expected: bytes
) -> None:
    """Exactly one trailing newline is removed; other whitespace is part of the passphrase."""
    path = tmp_path / "pass.txt"
    path.write_bytes(content)
    assert read_passphrase_file(path) == expected


def test_unreadable_passphrase_file(tmp_path: Path) -> None:
    """A missing passphrase file raises KeyUnlockError."""
    with pytest.raises(KeyUnlockError):
        read_passphrase_file(tmp_path / "khong-co.txt")
