"""The head's letters awaiting signature, for a section of their start page ("Thư chờ ký")."""

from __future__ import annotations

from dataclasses import dataclass

from backoffice.services.people import Person
from dossiers.models import Letter, Role
from dossiers.services.access import has_role, scope
from dossiers.services.life_letters import EDITABLE

__all__ = ["SHOWN", "Waiting", "letters_waiting"]

SHOWN = 20
"""Most letters listed; the count says how many there are."""


@dataclass(frozen=True)
class Waiting:
    letters: list[Letter]
    """Drafted or approved letters of the person's offices, oldest first."""

    count: int


def letters_waiting(user: Person) -> Waiting | None:
    """The letters the office heads among the person's roles must review and sign; None
    for someone who heads no office."""
    if not has_role(user, Role.HEAD):
        return None
    letters = scope(
        Letter.objects.filter(state__in=EDITABLE), user, Role.HEAD, via="dossier__office"
    )
    ordered = letters.select_related("dossier").order_by("created_at", "pk")
    return Waiting(letters=list(ordered[:SHOWN]), count=ordered.count())
