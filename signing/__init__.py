"""Signing: PKCS#12 keys, PAdES signatures with a Vietnamese stamp, and verification."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signing.devpki import IssuedKey, make_dev_pki
    from signing.errors import (
        CertificateError,
        KeyUnlockError,
        PdfInputError,
        SignatureOutputError,
        SigningError,
        StampError,
        TrustStoreError,
    )
    from signing.keys.pkcs12 import load_pkcs12_signer, read_passphrase_file
    from signing.pades.options import SignOptions
    from signing.pades.sign import sign_file, sign_pdf
    from signing.stamp.text import StampText
    from signing.verify.check import verify_pdf
    from signing.verify.report import SignatureReport, VerifyReport

__all__ = [
    "CertificateError",
    "IssuedKey",
    "KeyUnlockError",
    "PdfInputError",
    "SignOptions",
    "SignatureOutputError",
    "SignatureReport",
    "SigningError",
    "StampError",
    "StampText",
    "TrustStoreError",
    "VerifyReport",
    "load_pkcs12_signer",
    "make_dev_pki",
    "read_passphrase_file",
    "sign_file",
    "sign_pdf",
    "verify_pdf",
]

# Imported on first use: pyHanko takes over half a second to import, and Django
# imports this package when it loads the app registry (web, workers, commands).
_HOMES = {
    "IssuedKey": "signing.devpki",
    "make_dev_pki": "signing.devpki",
    "CertificateError": "signing.errors",
    "KeyUnlockError": "signing.errors",
    "PdfInputError": "signing.errors",
    "SignatureOutputError": "signing.errors",
    "SigningError": "signing.errors",
    "StampError": "signing.errors",
    "TrustStoreError": "signing.errors",
    "load_pkcs12_signer": "signing.keys.pkcs12",
    "read_passphrase_file": "signing.keys.pkcs12",
    "SignOptions": "signing.pades.options",
    "StampText": "signing.stamp.text",
    "sign_file": "signing.pades.sign",
    "sign_pdf": "signing.pades.sign",
    "SignatureReport": "signing.verify.report",
    "VerifyReport": "signing.verify.report",
    "verify_pdf": "signing.verify.check",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'signing' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
