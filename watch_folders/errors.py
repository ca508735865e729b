"""Errors of the watch-folder package: one root, each carrying what to do with it."""

from __future__ import annotations

from typing import ClassVar

from core.errors import Disposition, PipelineError

__all__ = ["IntakeError", "WatchConfigError"]


class IntakeError(PipelineError):
    """Root of every error raised by :mod:`watch_folders`."""

    default_message_vi = "Không nhận được bản quét"


class WatchConfigError(IntakeError):
    """The watched folders cannot be watched as configured (an output folder inside a
    watched one, folders inside each other): the administrator fixes the configuration."""

    default_message_vi = "Cấu hình thư mục theo dõi không hợp lệ"
    default_disposition: ClassVar[Disposition] = "fail"
