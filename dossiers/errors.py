"""The one error root of the dossiers package, each error carrying what to do with it."""

from __future__ import annotations

from typing import ClassVar

from core.errors import Disposition, PipelineError

__all__ = ["DossierError", "RegistrationError"]


class DossierError(PipelineError):
    """Root of every error raised by :mod:`dossiers`."""

    default_message_vi = "Không xử lý được hồ sơ"


class RegistrationError(DossierError):
    """A dossier could not be registered; ``message_vi`` says why, for the clerk.

    The data given is what is wrong (a missing name, an unknown procedure, a code
    already taken), so it is set aside for the clerk to correct (``quarantine``).
    """

    default_message_vi = "Không tiếp nhận được hồ sơ"
    default_disposition: ClassVar[Disposition] = "quarantine"
