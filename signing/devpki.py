"""A development and test PKI: a local root CA and one signer key in a PKCS#12 file."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.files import write_atomically

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "SIGNER_CERT_FILE",
    "SIGNER_PKCS12_FILE",
    "IssuedKey",
    "make_dev_pki",
]

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SIGNER_CERT_FILE = "signer.pem"
SIGNER_PKCS12_FILE = "signer.p12"

_DEV_CA_NAME = "motcua DEVELOPMENT CA — không dùng cho văn bản thật"
_CA_NAME = "motcua CA"
_CA_MIN_DAYS = 3650
_CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedKey:
    ca_cert: Path
    """PEM file of the issuing CA certificate, the trust anchor for verification."""

    pkcs12: Path
    """PKCS#12 file with the signer's key, certificate and CA chain, protected by the passphrase."""

    cert: Path
    """PEM file of the signer's certificate."""


def make_dev_pki(
    dest: Path,
    *,
    signer_name: str,
    organisation: str,
    passphrase: bytes,
    development: bool = True,
    valid_days: int = 825,
) -> IssuedKey:
    """Create (or load, if already there) a root CA and a signer key under ``dest``.

    The CA key is kept in ``ca-key.pem`` encrypted with the same passphrase, so more
    certificates can be issued from the same CA later. Every file is written 0600.
    When all files already exist nothing is regenerated.
    """
    if not passphrase:
        raise ValueError("a development PKI needs a non-empty passphrase")
    issued = IssuedKey(
        ca_cert=dest / CA_CERT_FILE,
        pkcs12=dest / SIGNER_PKCS12_FILE,
        cert=dest / SIGNER_CERT_FILE,
    )
    ca_key_path = dest / CA_KEY_FILE
    if all(p.is_file() for p in (issued.ca_cert, issued.pkcs12, issued.cert, ca_key_path)):
        x509.load_pem_x509_certificate(issued.ca_cert.read_bytes())
        x509.load_pem_x509_certificate(issued.cert.read_bytes())
        return issued

    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    ca_cert = _build_ca_cert(
        ca_key,
        common_name=_DEV_CA_NAME if development else _CA_NAME,
        organisation=organisation,
        not_before=now - _CLOCK_SKEW,
        not_after=now + dt.timedelta(days=max(valid_days + 1, _CA_MIN_DAYS)),
    )
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer_cert = _build_signer_cert(
        signer_key,
        ca_key=ca_key,
        ca_cert=ca_cert,
        common_name=signer_name,
        organisation=organisation,
        not_before=now - _CLOCK_SKEW,
        not_after=now + dt.timedelta(days=valid_days),
    )
    encryption = _pkcs12_encryption(passphrase)
    p12 = pkcs12.serialize_key_and_certificates(
        name=_nfc(signer_name).encode("utf-8"),
        key=signer_key,
        cert=signer_cert,
        cas=[ca_cert],
        encryption_algorithm=encryption,
    )
    pem = serialization.Encoding.PEM
    _write_private(
        ca_key_path,
        ca_key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        ),
    )
    _write_private(issued.ca_cert, ca_cert.public_bytes(pem))
    _write_private(issued.cert, signer_cert.public_bytes(pem))
    # the PKCS#12 file goes last: its presence marks a complete set
    _write_private(issued.pkcs12, p12)
    return issued


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _nfc(organisation)),
            x509.NameAttribute(NameOID.COMMON_NAME, _nfc(common_name)),
        ]
    )


def _build_ca_cert(
    key: rsa.RSAPrivateKey,
    *,
    common_name: str,
    organisation: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    name = _name(common_name, organisation)
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )


def _build_signer_cert(
    key: rsa.RSAPrivateKey,
    *,
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    organisation: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    public_key = key.public_key()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organisation))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.EMAIL_PROTECTION, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _pkcs12_encryption(passphrase: bytes) -> serialization.KeySerializationEncryption:
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(100_000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(passphrase)
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600."""
    write_atomically(path, data, mode=0o600)
