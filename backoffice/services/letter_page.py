"""The letters of a dossier as its page lists them, and the head's review and signature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.contrib.auth.models import User

from core.vntime import to_vn
from dossiers.forms_text import REASONS
from dossiers.models import Dossier, Letter, LetterForm
from dossiers.services.life_letters import EDITABLE
from signing.services.approval import unlock_key
from signing.services.letters import letter_signer, prepare_letter, sign_letter

__all__ = [
    "APOLOGY_REASONS",
    "LetterRow",
    "dossier_letters",
    "letter_file",
    "letter_sha256",
    "sign_with_secret",
    "suggested_new_day",
]

APOLOGY_REASONS: tuple[str, ...] = tuple(REASONS)
"""The reasons offered for a late dossier; the head may type another."""


@dataclass(frozen=True)
class LetterRow:
    """One letter as the dossier page lists it."""

    letter: Letter
    form: str
    """``Mẫu 04 — Văn bản xin lỗi …``."""

    state: str
    """``Dự thảo``, ``Đã duyệt nội dung``, ``Đã ký số``, ``Đã gửi công dân`` …"""

    editable: bool
    """Still a draft or approved: the head may change and sign it."""

    has_pdf: bool


def letter_file(letter: Letter) -> Path | None:
    """The letter's PDF: the signed one once signed, else the approved rendering, if any."""
    for name in (letter.signed_path, letter.pdf_path):
        if name and Path(name).is_file():
            return Path(name)
    return None


def letter_sha256(letter: Letter) -> str:
    """The SHA-256 of the file :func:`letter_file` gives, when known (the signed one)."""
    return letter.signed_sha256 if letter.signed_path else ""


def dossier_letters(dossier: Dossier) -> list[LetterRow]:
    """The dossier's letters to the citizen, oldest first, cancelled ones left out."""
    letters = Letter.objects.filter(dossier=dossier).exclude(state=Letter.State.CANCELLED)
    return [
        LetterRow(
            letter=letter,
            form=letter.get_form_display(),
            state=letter.get_state_display(),
            editable=letter.state in EDITABLE,
            has_pdf=bool(letter.signed_path or letter.pdf_path),
        )
        for letter in letters.order_by("created_at", "pk")
    ]


def suggested_new_day(letter: Letter) -> date | None:
    """The apology's new appointment day (Vietnam time), to fill the form with."""
    if letter.form != LetterForm.APOLOGY or letter.new_due_at is None:
        return None
    return to_vn(letter.new_due_at).date()


def sign_with_secret(letter: Letter, user: User, secret: bytes) -> str:
    """Unlock the head's key with ``secret`` (throttled per signer), approve a draft's
    wording, and sign the letter; the signed file's SHA-256.

    Raises :class:`signing.errors.SigningError` (a wrong or throttled secret, a key that is
    not the head's) or :class:`dossiers.errors.LifeError`; the letter is then not signed.
    The secret goes to the key's unlocking and nowhere else.
    """
    signer = letter_signer(user, letter.dossier.office_id)
    unlocked = unlock_key(signer, secret)
    try:
        if letter.state == Letter.State.DRAFT:
            prepare_letter(letter, user)
        return sign_letter(letter, user, unlocked.signer)
    finally:
        unlocked.close()
