"""The one error root of the signing package, each error carrying what to do with it."""

from __future__ import annotations

from typing import ClassVar, Literal

__all__ = [
    "CertificateError",
    "Disposition",
    "KeyUnlockError",
    "PdfInputError",
    "SignatureOutputError",
    "SigningError",
    "StampError",
    "TrustStoreError",
]

Disposition = Literal["retry", "quarantine", "fail"]


class SigningError(Exception):
    """Root of every error raised by the signing package.

    ``message_vi`` is a sentence a clerk or official can read; ``disposition`` tells
    the task boundary or the CLI what to do: ``retry`` (transient, try again later),
    ``quarantine`` (this input is bad, set it aside) or ``fail`` (needs a person:
    configuration, key or certificate). The message never contains a passphrase.
    """

    default_message_vi: ClassVar[str] = "Ký số thất bại"
    default_disposition: ClassVar[Disposition] = "fail"

    def __init__(self, message_vi: str | None = None, *, disposition: Disposition | None = None):
        self.message_vi: str = message_vi or self.default_message_vi
        self.disposition: Disposition = disposition or self.default_disposition
        super().__init__(self.message_vi)


class KeyUnlockError(SigningError):
    """The signing key could not be opened: wrong passphrase, unreadable or invalid file."""

    default_message_vi = "Mật khẩu khóa ký không đúng"


class CertificateError(SigningError):
    """The signer's certificate may not be used to sign now (validity period, key usage)."""

    default_message_vi = "Chứng thư số không dùng được để ký"


class PdfInputError(SigningError):
    """The document to sign cannot be read or is not a PDF we can sign."""

    default_message_vi = "Tệp PDF không đọc được hoặc bị hỏng"
    default_disposition = "quarantine"


class StampError(SigningError):
    """The visible signature stamp cannot be drawn (font missing, text does not fit)."""

    default_message_vi = "Không tạo được hình chữ ký hiển thị"


class SignatureOutputError(SigningError):
    """The signed document could not be written (disk full, permissions, network share)."""

    default_message_vi = "Không ghi được tệp đã ký"
    default_disposition = "retry"


class TrustStoreError(SigningError):
    """A trust anchor certificate given for verification cannot be read."""

    default_message_vi = "Không đọc được chứng thư gốc tin cậy"
