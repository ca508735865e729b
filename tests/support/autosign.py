"""Helpers for the automatic-signing tests: a document's events, a signing attempt run again."""

from __future__ import annotations

from pytest_django import DjangoCaptureOnCommitCallbacks

from dossiers.models import Document, Event
from signing.models import AutoSignature
from signing.services.autosign import sign_automatically

__all__ = ["events", "run_again"]


def events(document: Document, kind: str) -> list[Event]:
    return list(Event.objects.filter(document=document, kind=kind).order_by("pk"))


def run_again(
    document: Document, capture: DjangoCaptureOnCommitCallbacks
) -> tuple[str, Document, AutoSignature]:
    """Attempt the document's automatic signing now, as its stage's recovery would."""
    with capture(execute=True):
        outcome = sign_automatically(document.pk)
    document.refresh_from_db()
    return outcome, document, AutoSignature.objects.get(document=document)
