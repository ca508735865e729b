"""A throwaway SoftHSM2 token for tests: private config and token folder, unexportable keys."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import Attribute, TokenFlag
from pkcs11.util.ec import decode_ec_private_key
from pkcs11.util.rsa import decode_rsa_private_key
from pkcs11.util.x509 import decode_x509_certificate

from tests.support.pki import issue_signer_certificate

__all__ = [
    "SOFTHSM_MODULE_PATHS",
    "SoftToken",
    "import_certificate",
    "import_private_key",
    "issue_signer_certificate",
    "softhsm_environment",
    "softhsm_module",
]

SOFTHSM_MODULE_PATHS = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/local/lib/softhsm/libsofthsm2.so"),
)
"""Where Debian's softhsm2 package (and a source build) put the PKCS#11 module."""


def softhsm_module() -> Path:
    """Return the SoftHSM2 PKCS#11 module; fail loudly when the package is missing."""
    for path in SOFTHSM_MODULE_PATHS:
        if path.is_file():
            return path
    raise RuntimeError("SoftHSM2 is not installed (Debian package softhsm2)")


@dataclass(frozen=True)
class SoftToken:
    """An initialised SoftHSM2 token with a user PIN."""

    module: Path
    """The SoftHSM2 PKCS#11 module."""

    label: str
    """Token label."""

    slot_id: int
    """Slot ID the token sits in."""

    user_pin: str
    """User PIN (a throwaway test value)."""

    def open(self, *, rw: bool = False) -> pkcs11.Session:
        """Return a session logged in as the user, for setting up and inspecting the token."""
        return (
            pkcs11.lib(str(self.module))
            .get_token(token_label=self.label)
            .open(rw=rw, user_pin=self.user_pin)
        )


class SoftHsm:
    """SoftHSM2 running on a private configuration; makes tokens."""

    def __init__(self, module: Path) -> None:
        self.module = module

    def create_token(self, label: str, *, user_pin: str, so_pin: str) -> SoftToken:
        """Initialise a new token in the first free slot and set its user PIN.

        The PINs go to the module's C_InitToken and C_InitPIN in this process;
        no command line or child process sees them.
        """
        library = pkcs11.lib(str(self.module))
        free = next(
            slot
            for slot in library.get_slots()
            if not slot.get_token().flags & TokenFlag.TOKEN_INITIALIZED
        )
        # python-pkcs11 has no C_InitToken; SoftHSM exports the PKCS#11 functions
        # by name, and dlopen gives ctypes the very library python-pkcs11 initialised
        init_token = ctypes.CDLL(str(self.module)).C_InitToken
        init_token.argtypes = [ctypes.c_ulong, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
        init_token.restype = ctypes.c_ulong
        so = so_pin.encode()
        padded = label.encode().ljust(32)[:32]
        result = init_token(free.slot_id, so, len(so), padded)
        if result != 0:
            raise RuntimeError(f"C_InitToken failed: CKR 0x{result:x}")
        token = library.get_token(token_label=label)
        with token.open(rw=True, so_pin=so_pin) as session:
            session.init_pin(user_pin)
        return SoftToken(
            module=self.module, label=label, slot_id=token.slot.slot_id, user_pin=user_pin
        )


@contextmanager
def softhsm_environment(directory: Path) -> Iterator[SoftHsm]:
    """Run SoftHSM2 on a config and token folder inside ``directory`` for the block's duration.

    SOFTHSM2_CONF is set in this process only and restored afterwards; the module
    is (re)initialised so it reads the new config, and finalised at the end so the
    next user starts clean.
    """
    module = softhsm_module()
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    library = pkcs11.lib(str(module))
    try:
        library.reinitialize()  # read SOFTHSM2_CONF again if an earlier test loaded it
        yield SoftHsm(module)
    finally:
        try:
            library.finalize()
        finally:
            if previous is None:
                os.environ.pop("SOFTHSM2_CONF", None)
            else:
                os.environ["SOFTHSM2_CONF"] = previous


def import_private_key(
    token: SoftToken,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    key_id: bytes,
    label: str,
    always_authenticate: bool = False,
) -> None:
    """Store ``key`` on ``token`` as a sensitive, unextractable signing key.

    This is how a CA's key ceremony leaves a token: once stored, the secret parts
    of the key can be used but never read back. ``always_authenticate`` makes the
    token ask for the PIN again before each signature, as qualified-signature
    cards do.
    """
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    attributes: dict[Attribute, Any] = (
        decode_rsa_private_key(der)
        if isinstance(key, rsa.RSAPrivateKey)
        else decode_ec_private_key(der)
    )
    attributes.update(
        {
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.SIGN: True,
            Attribute.DECRYPT: False,
            Attribute.UNWRAP: False,
            Attribute.ID: key_id,
            Attribute.LABEL: label,
            Attribute.ALWAYS_AUTHENTICATE: always_authenticate,
        }
    )
    with token.open(rw=True) as session:
        session.create_object(attributes)


def import_certificate(
    token: SoftToken, cert: x509.Certificate, *, cert_id: bytes, label: str
) -> None:
    """Store ``cert`` on ``token`` as a public X.509 certificate object."""
    attributes = decode_x509_certificate(cert.public_bytes(serialization.Encoding.DER))
    attributes.update(
        {
            Attribute.TOKEN: True,
            Attribute.PRIVATE: False,
            Attribute.ID: cert_id,
            Attribute.LABEL: label,
        }
    )
    with token.open(rw=True) as session:
        session.create_object(attributes)
