"""The one error root of the signing package, each error carrying what to do with it."""

from __future__ import annotations

from core.errors import PipelineError

__all__ = [
    "STOPPED_VI",
    "ApprovalError",
    "CertificateError",
    "KeyUnlockError",
    "PdfInputError",
    "SignatureOutputError",
    "SigningError",
    "StampError",
    "TrustStoreError",
]

STOPPED_VI = "Lỗi: đã dừng; chạy lại lệnh để ký tiếp các tài liệu còn lại"
"""What ``motcua sign`` says when it is stopped before the end (Ctrl-C), in its own
process or through the signing agent: a second run signs the rest."""


class SigningError(PipelineError):
    """Root of every error raised by the signing package.

    ``message_vi`` is a sentence a clerk or official can read; ``disposition`` tells
    the task boundary or the CLI what to do: ``retry`` (transient, try again later),
    ``quarantine`` (this input is bad, set it aside) or ``fail`` (needs a person:
    configuration, key or certificate). The message never contains a passphrase.
    """

    default_message_vi = "Ký số thất bại"


class ApprovalError(SigningError):
    """The approval cannot go on (no signer role, a refused item, a batch in use): tell why."""

    default_message_vi = "Không phê duyệt được lô hồ sơ"


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
