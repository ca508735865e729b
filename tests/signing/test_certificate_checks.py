"""Tests of the certificate checks made before signing: validity, key usage, ownership."""

from __future__ import annotations

import datetime as dt
import hashlib
import traceback
import unicodedata
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.signers import SimpleSigner

from core.vntime import format_vn_date
from signing.devpki import IssuedKey
from signing.errors import CertificateError
from signing.keys.certificates import (
    check_belongs_to,
    check_signing_certificate,
    common_name,
    fingerprint_sha256,
)
from signing.keys.config import parse_fingerprint_sha256
from tests.support.pki import TEST_SIGNER
from tests.support.softhsm import issue_signer_certificate


@pytest.fixture(scope="module")
def official(pki: IssuedKey) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pki.cert.read_bytes())


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc.args)


def test_valid_certificate_passes_inside_its_period(official: x509.Certificate) -> None:
    """The official's certificate may sign at any moment inside its validity period."""
    middle = (
        official.not_valid_before_utc
        + (official.not_valid_after_utc - official.not_valid_before_utc) / 2
    )
    check_signing_certificate(official, now=middle)
    check_signing_certificate(official)


def test_expired_certificate_is_refused(pki: IssuedKey, tmp_path: Path) -> None:
    """A certificate whose validity ended yesterday is refused with its end date."""
    now = dt.datetime.now(dt.UTC)
    _key, cert = issue_signer_certificate(
        pki,
        name=TEST_SIGNER,
        not_before=now - dt.timedelta(days=365),
        not_after=now - dt.timedelta(days=1),
    )
    with pytest.raises(CertificateError) as info:
        check_signing_certificate(cert)
    assert "hết hạn" in info.value.message_vi
    assert format_vn_date(cert.not_valid_after_utc) in info.value.message_vi


def test_not_yet_valid_certificate_is_refused(pki: IssuedKey, tmp_path: Path) -> None:
    """A certificate that starts next week cannot sign today, but can once it starts."""
    now = dt.datetime.now(dt.UTC)
    starts = now + dt.timedelta(days=7)
    _key, cert = issue_signer_certificate(
        pki, name=TEST_SIGNER, not_before=starts, not_after=now + dt.timedelta(days=60)
    )
    with pytest.raises(CertificateError) as info:
        check_signing_certificate(cert, now=now)
    assert "chưa có hiệu lực" in info.value.message_vi
    check_signing_certificate(cert, now=starts + dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("digital_signature", "non_repudiation", "allowed"),
    [(True, False, True), (False, True, True), (False, False, False)],
)
def test_key_usage_must_allow_signing(
    pki: IssuedKey,
    tmp_path: Path,
    digital_signature: bool,
    non_repudiation: bool,
    allowed: bool,
) -> None:
    """digitalSignature or nonRepudiation lets a certificate sign; key agreement alone does not."""
    _key, cert = issue_signer_certificate(
        pki,
        name=TEST_SIGNER,
        digital_signature=digital_signature,
        non_repudiation=non_repudiation,
    )
    if allowed:
        check_signing_certificate(cert)
    else:
        with pytest.raises(CertificateError) as info:
            check_signing_certificate(cert)
        assert "key usage" in info.value.message_vi


def test_ca_certificate_is_refused(pki: IssuedKey) -> None:
    """The CA's own certificate is never accepted as a signer's certificate."""
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    with pytest.raises(CertificateError) as info:
        check_signing_certificate(ca)
    assert "CA" in info.value.message_vi


def test_checks_accept_the_certificate_a_signer_carries(signer: SimpleSigner) -> None:
    """The asn1crypto certificate of a pyHanko signer is checked like a cryptography one."""
    carried = signer.signing_cert
    assert carried is not None
    check_signing_certificate(carried)
    assert common_name(carried) == TEST_SIGNER
    assert fingerprint_sha256(carried) == hashlib.sha256(carried.dump()).hexdigest()


def test_belongs_to_matches_the_registered_fingerprint(official: x509.Certificate) -> None:
    """The fingerprint matches in any case and with the colons certificate viewers show."""
    digest = hashlib.sha256(official.public_bytes(Encoding.DER)).hexdigest().upper()
    with_colons = ":".join(digest[i : i + 2] for i in range(0, 64, 2))
    check_belongs_to(official, expected_fingerprint_sha256=with_colons, expected_subject_cn=None)
    check_belongs_to(official, expected_fingerprint_sha256=digest, expected_subject_cn=TEST_SIGNER)


def test_belongs_to_refuses_another_certificate(
    official: x509.Certificate, pki: IssuedKey, tmp_path: Path
) -> None:
    """A colleague's certificate from the same CA and with the same name is not the official's."""
    _key, namesake = issue_signer_certificate(pki, name=TEST_SIGNER)
    with pytest.raises(CertificateError) as info:
        check_belongs_to(
            namesake,
            expected_fingerprint_sha256=fingerprint_sha256(official),
            expected_subject_cn=TEST_SIGNER,
        )
    assert "không phải chứng thư đã đăng ký" in info.value.message_vi
    assert TEST_SIGNER not in _all_text(info.value)


def test_belongs_to_compares_names_by_unicode_and_case(official: x509.Certificate) -> None:
    """The common name matches in any Unicode form, case and spacing, but not without tones."""
    typed = "  " + unicodedata.normalize("NFD", TEST_SIGNER.upper()).replace(" ", "   ") + " "
    check_belongs_to(official, expected_fingerprint_sha256=None, expected_subject_cn=typed)
    toneless = "".join(
        c for c in unicodedata.normalize("NFD", TEST_SIGNER) if not unicodedata.combining(c)
    )
    assert toneless != TEST_SIGNER
    with pytest.raises(CertificateError) as info:
        check_belongs_to(official, expected_fingerprint_sha256=None, expected_subject_cn=toneless)
    assert "không khớp" in info.value.message_vi


def test_belongs_to_needs_every_given_value_to_match(official: x509.Certificate) -> None:
    """A right fingerprint with a wrong name, or nothing registered at all, is refused."""
    with pytest.raises(CertificateError):
        check_belongs_to(
            official,
            expected_fingerprint_sha256=fingerprint_sha256(official),
            expected_subject_cn="Phạm Thị Dung",
        )
    with pytest.raises(CertificateError) as info:
        check_belongs_to(official, expected_fingerprint_sha256=None, expected_subject_cn=None)
    assert "chưa đăng ký" in info.value.message_vi


@pytest.mark.parametrize("text", ["", "abc", "g" * 64, "a" * 63, "a" * 65])
def test_malformed_fingerprint_is_refused(official: x509.Certificate, text: str) -> None:
    """A registered fingerprint that is not 64 hex digits is a configuration error, not a match."""
    with pytest.raises(CertificateError):
        parse_fingerprint_sha256(text)
    with pytest.raises(CertificateError):
        check_belongs_to(official, expected_fingerprint_sha256=text, expected_subject_cn=None)
