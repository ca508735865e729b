"""What a PAdES signature is to be: field, stamp, certification, level and its services."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext

from signing.errors import SigningError
from signing.pades.levels import LEVELS, PadesLevel, level_at_least
from signing.stamp.place import Placed
from signing.stamp.text import StampText

__all__ = ["SignOptions", "UpdateCheck"]


@runtime_checkable
class UpdateCheck(Protocol):
    """An output check that can also examine only what an incremental update adds.

    Signing appends to its input, so when the input has passed the check already,
    only the signature's own revision can bring a new fault; ``update`` looks at
    that revision's objects without reading the input's again
    (:data:`core.pdfa.check.check_pdfa` is one).
    """

    def __call__(self, data: bytes) -> Sequence[object]:
        """What is wrong with the whole document ``data`` (nothing when sound)."""

    def update(self, base: bytes, updated: bytes) -> Sequence[object]:
        """What is wrong with what ``updated`` adds to ``base``, its first bytes."""


@dataclass(frozen=True)
class SignOptions:
    field_name: str = "ChuKySo1"
    """Name of the signature form field to create (must not hold a signature yet)."""

    reason: str = "Phê duyệt kết quả giải quyết thủ tục hành chính"
    """Reason for signing, stored in the signature dictionary."""

    location: str = ""
    """Place of signing stored in the signature dictionary; empty means none."""

    stamp: StampText | None = None
    """Text of the visible stamp; None makes an invisible signature."""

    page: int | None = None
    """Zero-based index of the stamp's page (-1 the last); None is the layout's own place."""

    box: tuple[float, float, float, float] | None = None
    """Stamp rectangle (x0, y0, x1, y1) in points; None is the layout's own place
    (or about 220×70 pt bottom right when only ``page`` is given)."""

    placed: Placed | None = None
    """Where the stamp goes, worked out beforehand by
    :func:`signing.stamp.place.plan_placement` from this very document (the approval path
    does, to record how the place was adjusted); None works it out while signing, when
    neither ``page`` nor ``box`` is given."""

    certify: bool = True
    """Make a certification signature (DocMDP P=2, "form filling and signing").

    Later edits other than timestamps, validation data (DSS), filling forms and
    adding signatures then make the signature report a modification. A document
    that already carries a signature cannot be certified any more; it then gets
    an approval signature.
    """

    level: PadesLevel = "B-B"
    """PAdES baseline level: B-B signature only; B-T adds an RFC 3161 signature
    timestamp; B-LT also embeds the certificates and revocation data (DSS); B-LTA
    also adds a document timestamp over all of it. A level is never lowered: when
    a service it needs does not answer, signing fails with disposition "retry"."""

    timestamper: TimeStamper | str | None = None
    """Timestamp authority for B-T and above: a pyHanko TimeStamper or an RFC 3161 URL."""

    validation_context: ValidationContext | None = None
    """Trust roots and revocation sources for B-LT and B-LTA, e.g. from
    :func:`signing.pades.evidence.revocation_context`. Ignored below B-LT, so B-B and
    B-T never fetch OCSP or CRL data."""

    check_after_signing: bool = True
    """Validate the signed output (signature intact and valid, timestamps sound)
    before returning it; a failure raises SigningError with disposition "fail"."""

    output_check: Callable[[bytes], Sequence[object]] | None = None
    """A further check of the document, returning what is wrong with it (nothing when
    sound): the PDF/A clauses a digitized document promises, for instance. It runs on
    the signed output (only on the signature's revision when it is an
    :class:`UpdateCheck`), and on the input only when it finds something; a finding
    the input did not have, so one that signing brought in, refuses the output with
    disposition "fail". A module-level function or object, so that the options can
    cross to the engine's workers."""


def checked_level(options: SignOptions) -> PadesLevel:
    level = options.level
    if level not in LEVELS:
        raise SigningError(f"Mức chữ ký PAdES không hợp lệ: {level}")
    if level_at_least(level, "B-T") and options.timestamper is None:
        raise SigningError(
            f"Chữ ký mức {level} cần máy chủ cấp dấu thời gian (TSA) nhưng chưa được cấu hình"
        )
    if level_at_least(level, "B-LT") and options.validation_context is None:
        raise SigningError(
            f"Chữ ký mức {level} cần nguồn kiểm tra thu hồi chứng thư (OCSP/CRL) "
            "nhưng chưa được cấu hình"
        )
    return level
