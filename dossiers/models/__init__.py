"""The domain's tables: offices and procedures, who works where, dossiers and documents."""

from dossiers.models.access import Membership, Role
from dossiers.models.offices import (
    A4_MM,
    STAMP_MIN_MM,
    CalendarDay,
    Office,
    Procedure,
    StampCorner,
    StampLayout,
    StampPage,
)
from dossiers.models.records import (
    Document,
    DocumentState,
    Dossier,
    Event,
    hash_secret,
    new_verify_code,
)

__all__ = [
    "A4_MM",
    "STAMP_MIN_MM",
    "CalendarDay",
    "Document",
    "DocumentState",
    "Dossier",
    "Event",
    "Membership",
    "Office",
    "Procedure",
    "Role",
    "StampCorner",
    "StampLayout",
    "StampPage",
    "hash_secret",
    "new_verify_code",
]
