"""Approval by an official: their signer role for the office, their key unlocked and checked."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from django.contrib.auth.models import User

from dossiers.models import Role
from dossiers.services.access import has_role
from signing.errors import ApprovalError, SigningError
from signing.keys.certificates import check_belongs_to, check_signing_certificate
from signing.keys.pkcs11 import TokenSession, open_token
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.models import Batch, Signer
from signing.services.unlock_throttle import guarded

__all__ = [
    "UnlockedKey",
    "check_certificate",
    "check_key",
    "signer_for",
    "unlock_key",
]


def signer_for(user: User, batch: Batch) -> Signer:
    """The user's signer role for the batch's office, or an ApprovalError.

    Both are needed: the role of signing official in the office (a Membership, given by
    its administrator) and an active Signer row holding the key and the stamp's text.
    """
    signer = Signer.objects.filter(user=user, office=batch.office_id, active=True).first()
    if signer is None or not has_role(user, Role.OFFICIAL, office=batch.office_id):
        raise ApprovalError(
            f"Tài khoản {user.get_username()} không có quyền ký cho {batch.office.name}."
        )
    return signer


def check_key(signer: Signer, key: Any) -> None:
    """Refuse (ApprovalError) a key whose certificate is not the official's or may not sign.

    The certificate must match the signer's registered SHA-256 fingerprint when
    there is one, else carry the signer's display name as its common name.
    """
    try:
        check_certificate(
            getattr(key, "signing_cert", None),
            fingerprint=signer.cert_sha256,
            name=signer.display_name,
        )
    except SigningError as exc:
        raise ApprovalError(f"{exc.message_vi} ({signer.display_name}); không ký.") from None


def check_certificate(cert: Any, *, fingerprint: str, name: str) -> None:
    """Raise SigningError unless ``cert`` may sign now and is the one registered for its holder.

    The holder (an official, an office) registers a SHA-256 ``fingerprint``, or
    else the certificate's common name must be ``name``; see
    :func:`signing.keys.certificates.check_belongs_to`.
    """
    if cert is None:
        raise SigningError("Khóa ký không kèm chứng thư số")
    check_signing_certificate(cert)
    check_belongs_to(
        cert,
        expected_fingerprint_sha256=fingerprint or None,
        expected_subject_cn=None if fingerprint else name,
    )


class UnlockedKey:
    """An official's key opened with their passphrase or PIN; close it when signing is over.

    ``signer`` is the pyHanko signer. A key on a PKCS#11 token keeps its session
    open until :meth:`close` and signs in this process only (``processes`` is 1).
    """

    def __init__(self, signer: Any, session: TokenSession | None = None) -> None:
        self.signer = signer
        self.session = session

    @property
    def processes(self) -> int | None:
        """Signing processes for this key: 1 for a token, None (one per CPU) for a file."""
        return 1 if self.session is not None else None

    def close(self) -> None:
        """Close the token session, if any; safe to call twice."""
        if self.session is not None:
            self.session.close()

    def __enter__(self) -> UnlockedKey:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def unlock_key(signer: Signer, secret: bytes) -> UnlockedKey:
    """Open ``signer``'s key with ``secret`` (PKCS#12 passphrase or token PIN) and check it.

    The secret goes to the key file's decryption or the token's login in this
    process and nowhere else. Wrong secrets are counted per signer: after too many the
    key is not tried at all for a while (:mod:`signing.services.unlock_throttle`), so a
    token's own PIN counter is never used up. Raises SigningError when the key does not
    open and ApprovalError when its certificate is not the official's (see
    :func:`check_key`).
    """

    def attempt() -> UnlockedKey:
        if signer.on_token:
            session = open_token(signer.token_config(), secret)
            return UnlockedKey(session.signer, session)
        return UnlockedKey(load_pkcs12_signer(Path(signer.pkcs12_path), secret))

    unlocked = guarded(signer, attempt)
    try:
        check_key(signer, unlocked.signer)
    except BaseException:
        unlocked.close()
        raise
    return unlocked
