"""Diacritic-insensitive search of the recognised text of documents, for the back office."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.models import QuerySet

from dossiers.models import Document, Dossier

__all__ = [
    "fold",
    "keep_applicant_folded",
    "keep_text_folded",
    "matching_text",
    "search_documents",
]

_LETTERS = str.maketrans({"đ": "d", "Đ": "D"})
"""Vietnamese letters that are not a base letter plus combining marks."""


def fold(text: str) -> str:
    """Text reduced for searching: no diacritics, đ as d, case-folded, whitespace single spaces.

    "Nguyễn  Văn\\nĐức" and "nguyen van duc" fold to the same string; the result
    is plain ASCII for Vietnamese text.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFC", bare).casefold().split())


def matching_text(queryset: QuerySet[Document], query: str) -> QuerySet[Document]:
    """The documents of ``queryset`` whose text contains ``query``, ignoring marks and case.

    The folded query must appear as a phrase; an empty query matches nothing.
    """
    folded = fold(query)
    if not folded:
        return queryset.none()
    return queryset.filter(text_folded__contains=folded)


def search_documents(query: str) -> QuerySet[Document]:
    """All documents whose text contains ``query``: "nguyen van a" finds "Nguyễn Văn A"."""
    return matching_text(Document.objects.all(), query)


def keep_text_folded(sender: type[Document], instance: Document, **kwargs: Any) -> None:
    """Fill ``text_folded`` from ``text`` before a document is saved (a pre_save receiver)."""
    instance.text_folded = fold(instance.text)


def keep_applicant_folded(sender: type[Dossier], instance: Dossier, **kwargs: Any) -> None:
    """Fill ``applicant_folded`` from ``applicant_name`` before a dossier is saved (pre_save)."""
    instance.applicant_folded = fold(instance.applicant_name)[:255]
