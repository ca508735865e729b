"""How a key is named in configuration: token settings and certificate fingerprints, importing
no cryptography, so that models and admin forms can use them without loading pyHanko."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from signing.errors import CertificateError

__all__ = ["TokenConfig", "parse_fingerprint_sha256"]


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


_HEX_SEPARATORS = re.compile(r"[\s:]")


def parse_fingerprint_sha256(text: str) -> str:
    """Return ``text`` as a bare lowercase hex SHA-256 fingerprint (colons and spaces dropped).

    Raises :class:`CertificateError` when it is not 64 hexadecimal digits.
    """
    bare = _HEX_SEPARATORS.sub("", text).lower()
    if len(bare) != 64 or any(c not in "0123456789abcdef" for c in bare):
        raise CertificateError(
            "Dấu vân tay SHA-256 của chứng thư số không hợp lệ (cần 64 chữ số hex)"
        )
    return bare
