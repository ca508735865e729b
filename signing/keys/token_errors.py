"""Errors of PKCS#11 tokens and HSMs, each with the Vietnamese message an official reads."""

from __future__ import annotations

import logging

from pkcs11 import exceptions as p11

from signing.errors import KeyUnlockError, SigningError

__all__ = [
    "AmbiguousKeyError",
    "TokenBusyError",
    "TokenError",
    "TokenKeyNotFoundError",
    "TokenModuleError",
    "TokenNotFoundError",
    "TokenPinError",
    "TokenPinLockedError",
    "translate_token_error",
]

logger = logging.getLogger(__name__)


class TokenError(SigningError):
    """The token or HSM reported a problem (device error, unsupported mechanism, …)."""

    default_message_vi = "Thiết bị ký số báo lỗi; hãy rút thiết bị ra, cắm lại và thử lại"


class TokenModuleError(TokenError):
    """The PKCS#11 module (the token vendor's shared library) cannot be loaded."""

    default_message_vi = "Không nạp được thư viện PKCS#11 của thiết bị ký số"


class TokenNotFoundError(TokenError):
    """No token matching the configuration is present (unplugged, wrong label or slot)."""

    default_message_vi = "Không tìm thấy thiết bị ký số; hãy cắm thiết bị và thử lại"


class TokenKeyNotFoundError(TokenError):
    """The token holds no signing key (with its certificate) matching the configuration."""

    default_message_vi = "Không tìm thấy khóa ký phù hợp trên thiết bị ký số"


class AmbiguousKeyError(TokenError):
    """Several keys on the token match; the configuration must name one."""

    default_message_vi = (
        "Thiết bị ký số có nhiều khóa ký phù hợp; hãy chỉ định mã khóa (CKA_ID) "
        "hoặc dấu vân tay SHA-256 của chứng thư số"
    )


class TokenBusyError(TokenError):
    """The token is in use by another signing session of this process; try again later."""

    default_message_vi = "Thiết bị ký số đang được dùng cho một phiên ký khác; hãy thử lại sau"
    default_disposition = "retry"


class TokenPinError(KeyUnlockError):
    """The PIN typed for the token is wrong."""

    default_message_vi = "Mã PIN của thiết bị ký không đúng"


class TokenPinLockedError(KeyUnlockError):
    """The token's user PIN is locked after too many wrong attempts."""

    default_message_vi = (
        "Mã PIN của thiết bị ký đã bị khóa do nhập sai quá số lần cho phép; "
        "hãy liên hệ tổ chức cung cấp dịch vụ chứng thực chữ ký số để mở khóa"
    )


_ERROR_MAP: tuple[tuple[tuple[type[p11.PKCS11Error], ...], type[SigningError], str | None], ...] = (
    ((p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange), TokenPinError, None),
    ((p11.PinLocked,), TokenPinLockedError, None),
    (
        (p11.PinExpired,),
        KeyUnlockError,
        "Mã PIN của thiết bị ký đã hết hạn; hãy đổi mã PIN bằng phần mềm của nhà cung cấp",
    ),
    ((p11.UserPinNotInitialized,), KeyUnlockError, "Thiết bị ký số chưa được đặt mã PIN"),
    (
        (p11.NoSuchToken, p11.TokenNotPresent, p11.TokenNotRecognised, p11.DeviceRemoved),
        TokenNotFoundError,
        None,
    ),
    ((p11.SlotIDInvalid,), TokenNotFoundError, "Khe (slot) của thiết bị ký số không tồn tại"),
    (
        (
            p11.UserAlreadyLoggedIn,
            p11.AnotherUserAlreadyLoggedIn,
            p11.SessionCount,
            p11.OperationActive,
        ),
        TokenBusyError,
        None,
    ),
    (
        (p11.UserNotLoggedIn, p11.SessionClosed, p11.SessionHandleInvalid),
        TokenError,
        "Phiên làm việc với thiết bị ký số đã đóng; hãy nhập lại mã PIN",
    ),
    ((p11.NoSuchKey, p11.KeyHandleInvalid, p11.ObjectHandleInvalid), TokenKeyNotFoundError, None),
    ((p11.MultipleObjectsReturned,), AmbiguousKeyError, None),
    (
        (
            p11.MechanismInvalid,
            p11.MechanismParamInvalid,
            p11.FunctionNotSupported,
            p11.KeyTypeInconsistent,
        ),
        TokenError,
        "Thiết bị ký số không hỗ trợ thuật toán ký cần dùng",
    ),
    ((p11.FunctionCancelled,), TokenError, "Thao tác ký trên thiết bị đã bị hủy"),
)


def translate_token_error(exc: p11.PKCS11Error) -> SigningError:
    """Return the :class:`SigningError` (with a Vietnamese message) for a PKCS#11 error.

    Wrong PIN gives :class:`TokenPinError`, a locked PIN :class:`TokenPinLockedError`
    (both :class:`KeyUnlockError`), an absent or removed token
    :class:`TokenNotFoundError`, a token already logged in by another session
    :class:`TokenBusyError` (retry), anything else :class:`TokenError`.
    """
    logger.warning("PKCS#11 error %s", type(exc).__name__)
    for kinds, error, message in _ERROR_MAP:
        if isinstance(exc, kinds):
            return error(message)
    return TokenError()
