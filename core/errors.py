"""The base of every package's error root: a Vietnamese message and what to do with the work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

__all__ = ["BAD_INPUT", "EXIT_CODES", "Disposition", "PipelineError", "RetryPolicy", "exit_code"]

Disposition = Literal["retry", "quarantine", "fail"]
"""What to do with the work an error stopped: ``retry`` (transient: a full disk, a server
that did not answer; try again later), ``quarantine`` (this input is bad: set it aside
with the reason for the clerk) or ``fail`` (needs a person: configuration, key, a bug)."""

EXIT_CODES: dict[Disposition, int] = {"quarantine": 2, "fail": 3, "retry": 75}
"""The command line's exit code for each disposition (75 is sysexits' EX_TEMPFAIL)."""

BAD_INPUT = EXIT_CODES["quarantine"]
"""The exit code of a command given bad input: a missing file, an unknown code or user, an
argument in the wrong form, rows refused (fix the file or the command)."""


class PipelineError(Exception):
    """Base of each package's one error root (``DigitizeError``, ``SigningError`` …).

    ``message_vi`` is a sentence a clerk, official or citizen can read (no passphrase,
    PIN, ID number or secret, ever); ``disposition`` says what to do with the work;
    ``detail`` is optional technical context for operators' logs.
    """

    default_message_vi: ClassVar[str] = "Xử lý thất bại"
    default_disposition: ClassVar[Disposition] = "fail"

    def __init__(
        self,
        message_vi: str | None = None,
        *,
        disposition: Disposition | None = None,
        detail: str = "",
    ) -> None:
        self.message_vi: str = message_vi or self.default_message_vi
        self.disposition: Disposition = disposition or self.default_disposition
        self.detail = detail
        super().__init__(self.message_vi)

    def __str__(self) -> str:
        return self.message_vi

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the disposition and detail when the error crosses a process boundary.
        return (_rebuild, (type(self), self.message_vi, self.disposition, self.detail))


def _rebuild(
    cls: type[PipelineError], message_vi: str, disposition: Disposition, detail: str
) -> PipelineError:
    """Recreate an error from its pickled parts."""
    return cls(message_vi, disposition=disposition, detail=detail)


def exit_code(error: PipelineError) -> int:
    """The command line's exit code for ``error``, by its disposition."""
    return EXIT_CODES[error.disposition]


@dataclass(frozen=True)
class RetryPolicy:
    """How a task boundary retries work stopped by a ``retry`` error."""

    max_retries: int = 5
    """Retries before the work is failed for a person to look at."""

    first_delay_s: float = 10.0
    """Wait before the first retry; each later wait doubles."""

    max_delay_s: float = 600.0
    """Longest wait between two tries (well below the broker's visibility timeout)."""

    def countdown(self, retries_done: int) -> float:
        """Seconds to wait before the next try, after ``retries_done`` retries."""
        return float(min(self.max_delay_s, self.first_delay_s * 2**retries_done))

    def gives_up(self, retries_done: int) -> bool:
        """Whether the retries are spent."""
        return retries_done >= self.max_retries
