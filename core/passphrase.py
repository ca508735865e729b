"""Reading a key's passphrase from a file: without blocking, capped, never logged."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.errors import PipelineError

__all__ = ["PASSPHRASE_MAX_BYTES", "PassphraseFileError", "read_passphrase_file"]

PASSPHRASE_MAX_BYTES = 4096
"""A passphrase file longer than this is not a passphrase file, and is refused."""


class PassphraseFileError(PipelineError):
    """The passphrase file cannot be used: missing, not a regular file, too open, too long."""

    default_message_vi = "Không đọc được tệp mật khẩu khóa ký"


def read_passphrase_file(
    path: Path, *, service_only: bool = False, label: str = "khóa ký"
) -> bytes:
    """Return the passphrase in ``path`` without one trailing newline.

    The file is opened without blocking (a FIFO or device is refused, not waited
    on), must be a regular file, and is read up to :data:`PASSPHRASE_MAX_BYTES`. With
    ``service_only`` it must also be owned by the user this process runs as and be
    closed to its group and others (mode 600 or 400). The checks are made on the file
    actually opened, so nothing can be swapped in between. ``label`` names the key in
    the Vietnamese messages; the content is never logged nor put in a message.
    """
    name = f"Tệp mật khẩu {label} {path}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        raise PassphraseFileError(f"Không mở được tệp mật khẩu {label} {path}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PassphraseFileError(f"{name} không phải tệp thường")
        if service_only and info.st_uid != os.geteuid():
            raise PassphraseFileError(f"{name} không thuộc tài khoản chạy dịch vụ; không dùng")
        if service_only and info.st_mode & 0o077:
            raise PassphraseFileError(
                f"{name} có quyền {stat.filemode(info.st_mode)}: nhóm hoặc người khác truy cập "
                "được; hãy đặt quyền 600 (chmod 600) rồi thử lại"
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(PASSPHRASE_MAX_BYTES + 1)
    except OSError:
        raise PassphraseFileError(f"Không đọc được tệp mật khẩu {label} {path}") from None
    finally:
        os.close(fd)
    if len(data) > PASSPHRASE_MAX_BYTES:
        raise PassphraseFileError(
            f"{name} dài quá {PASSPHRASE_MAX_BYTES} byte; không phải tệp mật khẩu, không dùng"
        )
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data.removesuffix(b"\n")
