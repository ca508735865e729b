"""pypdf objects as the PDF/A checks read them: references followed, booleans, dictionaries."""

from __future__ import annotations

from pypdf.generic import BooleanObject, DictionaryObject, IndirectObject

__all__ = ["as_dict", "is_true", "pdf_names", "resolve"]


def pdf_names(words: str) -> frozenset[str]:
    """PDF names from space-separated words."""
    return frozenset(f"/{word}" for word in words.split())


def resolve(value: object) -> object:
    """A pypdf value with indirect references followed."""
    while isinstance(value, IndirectObject):
        value = value.get_object()
    return value


def is_true(value: object) -> bool:
    """Whether a pypdf value is the boolean true."""
    resolved = resolve(value)
    return bool(resolved.value) if isinstance(resolved, BooleanObject) else resolved is True


def as_dict(value: object) -> DictionaryObject | None:
    """A pypdf value as a dictionary, or None when it is something else."""
    resolved = resolve(value)
    return resolved if isinstance(resolved, DictionaryObject) else None
