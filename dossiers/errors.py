"""The one error root of the dossiers package, each error carrying what to do with it."""

from __future__ import annotations

from typing import ClassVar

from core.errors import Disposition, PipelineError

__all__ = ["DossierError", "LifeError", "RegistrationError"]


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


class LifeError(DossierError):
    """A step of the dossier's life was refused: the dossier is not in a state that allows
    it, or a letter is not where it should be; ``message_vi`` says why, for the person.

    Nothing was changed; the person reloads the page and chooses again (``quarantine``:
    retrying the same request would fail the same way).
    """

    default_message_vi = "Không thực hiện được thao tác trên hồ sơ"
    default_disposition: ClassVar[Disposition] = "quarantine"
