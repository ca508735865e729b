"""The domain's tables: offices and procedures, who works where, dossiers and documents."""

from dossiers.models.access import Membership, Role
from dossiers.models.api_tokens import ApiToken, hash_token
from dossiers.models.life import (
    DossierStep,
    Letter,
    LetterForm,
    LetterTemplate,
    Regime,
    StepKind,
)
from dossiers.models.numbering import DossierSequence, LetterSequence
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
    "ApiToken",
    "CalendarDay",
    "Document",
    "DocumentState",
    "Dossier",
    "DossierSequence",
    "DossierStep",
    "Event",
    "Letter",
    "LetterForm",
    "LetterSequence",
    "LetterTemplate",
    "Membership",
    "Office",
    "Procedure",
    "Regime",
    "Role",
    "StampCorner",
    "StampLayout",
    "StampPage",
    "StepKind",
    "hash_secret",
    "hash_token",
    "new_verify_code",
]
