"""One dossier as its office sees it: the timeline in words, documents and pages, messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backoffice.services.dossier_list import SOON
from digitize.models import Page
from dossiers.models import Document, Dossier
from dossiers.models.records import state_words
from publishing.models import OutboxMessage
from publishing.services.delivery import masked

__all__ = [
    "DOCUMENTS_SHOWN",
    "EVENTS_SHOWN",
    "MESSAGES_SHOWN",
    "PAGES_SHOWN",
    "DocumentView",
    "DossierView",
    "Flag",
    "MessageView",
    "PageView",
    "Step",
    "describe",
]

EVENTS_SHOWN = 500
"""Most events of one dossier on its page (a dossier has a few dozen)."""

DOCUMENTS_SHOWN = 50
"""Most documents of one dossier on its page."""

PAGES_SHOWN = 300
"""Most pages listed for one document; flagged pages come first, so none is hidden."""

MESSAGES_SHOWN = 100
"""Most messages to the citizen on one dossier's page."""


@dataclass(frozen=True)
class Step:
    at: datetime
    words: str
    """What happened, in Vietnamese (``dossiers.models.records.EVENT_WORDS``)."""

    from_state: str
    to_state: str
    actor: str
    document_id: int | None


@dataclass(frozen=True)
class Flag:
    message: str
    blocking: bool


@dataclass(frozen=True)
class PageView:
    number: int
    flags: list[Flag]
    confidence: float | None


@dataclass(frozen=True)
class DocumentView:
    document: Document
    state: str
    pages: list[PageView]
    """Flagged pages first, then the rest in order."""

    flagged: int
    has_pdf: bool


@dataclass(frozen=True)
class MessageView:
    document_id: int
    channel: str
    recipient: str
    """Masked: ``bi***@example.vn``, ``091****678``."""

    state: str
    failed: bool
    attempts: int
    sent_at: datetime | None


@dataclass(frozen=True)
class DossierView:
    dossier: Dossier
    overdue: bool
    due_soon: bool
    timeline: list[Step]
    documents: list[DocumentView]
    messages: list[MessageView]


def _flags(page: Page) -> list[Flag]:
    found = page.flags if isinstance(page.flags, list) else []
    return [
        Flag(message=str(flag.get("message_vi", "")), blocking=flag.get("severity") == "block")
        for flag in found
        if isinstance(flag, dict)
    ]


def _pages(document: Document) -> list[PageView]:
    pages = [
        PageView(number=p.index + 1, flags=_flags(p), confidence=p.confidence)
        for p in Page.objects.filter(document=document).order_by("index")[:PAGES_SHOWN]
    ]
    return sorted(pages, key=lambda p: (not p.flags, p.number))


def _documents(dossier: Dossier) -> list[DocumentView]:
    views = []
    for document in dossier.documents.order_by("-created_at", "-pk")[:DOCUMENTS_SHOWN]:
        pages = _pages(document)
        views.append(
            DocumentView(
                document=document,
                state=state_words(document.state),
                pages=pages,
                flagged=sum(1 for p in pages if p.flags),
                has_pdf=bool(document.signed_path or document.pdf_path),
            )
        )
    return views


def _timeline(dossier: Dossier) -> list[Step]:
    return [
        Step(
            at=event.at,
            words=event.words,
            from_state=state_words(event.from_state),
            to_state=state_words(event.to_state),
            actor=event.actor,
            document_id=event.document_id,
        )
        for event in dossier.events.order_by("at", "pk")[:EVENTS_SHOWN]
    ]


def _messages(dossier: Dossier) -> list[MessageView]:
    found = OutboxMessage.objects.filter(document__dossier=dossier).order_by("created_at", "pk")
    return [
        MessageView(
            document_id=m.document_id,
            channel=m.get_channel_display(),
            recipient=masked(m.recipient),
            state=m.get_state_display(),
            failed=m.state == OutboxMessage.State.FAILED,
            attempts=m.attempts,
            sent_at=m.sent_at,
        )
        for m in found[:MESSAGES_SHOWN]
    ]


def describe(dossier: Dossier, now: datetime) -> DossierView:
    """What the dossier's page shows; the caller found ``dossier`` through the person's scope."""
    open_ = dossier.resolved_at is None
    return DossierView(
        dossier=dossier,
        overdue=open_ and dossier.due_at < now,
        due_soon=open_ and now <= dossier.due_at < now + SOON,
        timeline=_timeline(dossier),
        documents=_documents(dossier),
        messages=_messages(dossier),
    )
