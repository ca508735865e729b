"""Letter numbers (the "Số: 07/XL" of forms 02–05): one counter per office, form and year."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F

from core.vntime import VN_TZ
from dossiers.forms_text import NUMBER_MARKS
from dossiers.models import LetterSequence

__all__ = ["format_letter_number", "next_letter_number"]


def format_letter_number(number: int, form: str) -> str:
    """``07/XL``: the number in at least two digits, then the form's letters."""
    return f"{number:02d}/{NUMBER_MARKS.get(form, 'VB')}"


def next_letter_number(office_id: int, form: str, moment: datetime) -> str:
    """Take the next number of ``form`` at the office for the year of ``moment`` (Vietnam time).

    Call inside the transaction that fixes the letter: the counter row stays locked by its
    ``UPDATE`` until that transaction ends, so concurrent approvals queue for it
    (PostgreSQL's row lock; SQLite's write lock) and never share a number, and an approval
    that fails gives its number back.
    """
    year = moment.astimezone(VN_TZ).year
    with transaction.atomic():
        # ON CONFLICT DO NOTHING: the year's first letter makes the row, a concurrent one
        # waits for that insert to commit and then finds it.
        LetterSequence.objects.bulk_create(
            [LetterSequence(office_id=office_id, form=form, year=year, last=0)],
            ignore_conflicts=True,
        )
        rows = LetterSequence.objects.filter(office_id=office_id, form=form, year=year)
        rows.update(last=F("last") + 1)
        number = rows.values_list("last", flat=True).get()
    return format_letter_number(number, form)
