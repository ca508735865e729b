"""A dossier's status and history in plain Vietnamese, from its events and documents.

``describe`` is pure (facts in, sentences out) so every case is tested without a
database; ``dossier_status`` loads the facts of one dossier and calls it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from core.vntime import VN_TZ
from dossiers.models import Document, DocumentState, Dossier

__all__ = [
    "DocumentFact",
    "DossierFacts",
    "EventFact",
    "Status",
    "Step",
    "describe",
    "dossier_status",
]

REASON_MAX = 300
"""Reasons longer than this are cut (with an ellipsis) on the citizen's page."""


@dataclass(frozen=True)
class EventFact:
    """What the history needs of one ``Event``."""

    kind: str
    at: datetime
    document_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentFact:
    """What the history needs of one ``Document``."""

    id: int
    state: str
    reason: str = ""


@dataclass(frozen=True)
class DossierFacts:
    """The dossier's own times."""

    received_at: datetime
    due_at: datetime
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class Step:
    """One line of the history: when, what, and its tone (``info``, ``ok``, ``warn``, ``bad``)."""

    at: datetime
    text: str
    tone: str = "info"


@dataclass(frozen=True)
class Status:
    """The current status in a few words, and the history below it, oldest first."""

    headline: str
    tone: str
    late: bool
    steps: tuple[Step, ...]


def _local(moment: datetime) -> str:
    local = moment.astimezone(VN_TZ)
    return _("%(time)s ngày %(date)s") % {"time": f"{local:%H:%M}", "date": f"{local:%d/%m/%Y}"}


def _reason(text: object) -> str:
    cleaned = " ".join(str(text or "").split())
    if len(cleaned) > REASON_MAX:
        cleaned = cleaned[: REASON_MAX - 1].rstrip() + "…"
    return cleaned


def _with_reason(sentence: str, reason: str) -> str:
    return (
        _("%(sentence)s Lý do: %(reason)s") % {"sentence": sentence, "reason": reason}
        if reason
        else sentence
    )


_WORKING = {"scans_received", "digitize_started", "digitized", "approved", "signed"}
"""Events that show the dossier is being worked on (the first one says so)."""


def _step(
    event: EventFact,
    documents: Mapping[int, DocumentFact],
    facts: DossierFacts,
    *,
    seen_work: bool,
    setback: bool,
) -> Step | None:
    """The citizen's sentence for ``event``, or None for events a citizen need not see.

    ``seen_work``: the dossier was already being worked on; ``setback``: the last step
    shown was a refused scan, a rejection or a request to supplement.
    """
    document = documents.get(event.document_id) if event.document_id is not None else None
    reason = _reason(event.detail.get("reason") or (document.reason if document else ""))
    kind = event.kind
    if kind == "registered":
        return Step(
            facts.received_at,  # the desk's time, which an import may give in the past
            _("Bộ phận một cửa đã tiếp nhận hồ sơ; hẹn trả kết quả lúc %(due)s.")
            % {"due": _local(facts.due_at)},
        )
    if kind == "scans_received" and setback:
        return Step(event.at, _("Giấy tờ đã được quét lại; hồ sơ tiếp tục được giải quyết."))
    if kind == "scans_received" and not seen_work:
        return Step(event.at, _("Hồ sơ đang được giải quyết: giấy tờ đã được quét vào hệ thống."))
    if kind in _WORKING and not seen_work:
        return Step(event.at, _("Hồ sơ đang được giải quyết."))
    if kind == "digitized":
        return Step(event.at, _("Giấy tờ đã được số hóa, đang chờ lãnh đạo xem xét và ký."))
    if kind == "signed":
        return Step(event.at, _("Lãnh đạo đã ký số văn bản kết quả."))
    if kind == "failed":
        return Step(
            event.at,
            _with_reason(
                _(
                    "Bản quét giấy tờ chưa đạt yêu cầu; bộ phận một cửa sẽ quét lại "
                    "(ông/bà không phải làm gì thêm)."
                ),
                reason,
            ),
            "warn",
        )
    if kind == "rejected":
        return Step(
            event.at,
            _with_reason(
                _("Lãnh đạo chưa duyệt, hồ sơ được trả lại bộ phận một cửa để xử lý lại."), reason
            ),
            "warn",
        )
    if kind == "supplement_requested":
        return Step(
            event.at,
            _with_reason(_("Cơ quan đề nghị ông/bà bổ sung giấy tờ cho hồ sơ."), reason),
            "bad",
        )
    if kind == "resolved":
        return Step(event.at, _resolved_text(event.at, facts), "ok")
    if kind == "delivered":
        return Step(
            event.at, _("Kết quả đã được gửi đến ông/bà (thư điện tử hoặc tin nhắn)."), "ok"
        )
    return _life_step(event, reason)


def _life_step(event: EventFact, reason: str) -> Step | None:
    """The citizen's sentence for a step of the dossier's life (pause, transfer, endings,
    letters), or None."""
    kind = event.kind
    if kind == "papers_completed":
        due = event.detail.get("due_at")
        moment = datetime.fromisoformat(due) if isinstance(due, str) else None
        text = _("Đã nhận đủ giấy tờ bổ sung; thời hạn giải quyết được tính tiếp.")
        if moment is not None:
            text += " " + _("Hẹn trả kết quả mới: %(due)s.") % {"due": _local(moment)}
        return Step(event.at, text)
    if kind == "transferred":
        return Step(
            event.at,
            _("Hồ sơ được chuyển đến %(office)s để phối hợp giải quyết.")
            % {"office": str(event.detail.get("to") or _("cơ quan phối hợp"))},
        )
    if kind == "transfer_returned":
        return Step(
            event.at, _("Cơ quan phối hợp đã chuyển trả hồ sơ; hồ sơ tiếp tục được giải quyết.")
        )
    if kind == "dossier_refused":
        return Step(event.at, _with_reason(_("Cơ quan từ chối giải quyết hồ sơ."), reason), "bad")
    if kind == "dossier_stopped":
        return Step(event.at, _with_reason(_("Cơ quan dừng giải quyết hồ sơ."), reason), "bad")
    if kind == "withdrawn":
        return Step(event.at, _("Ông/bà đã rút hồ sơ."), "warn")
    if kind == "returned_to_citizen":
        return Step(event.at, _("Bộ phận một cửa đã trả kết quả cho ông/bà."), "ok")
    if kind == "due_moved":
        due = event.detail.get("due_at")
        if isinstance(due, str):
            return Step(
                event.at,
                _("Cơ quan xin lỗi vì hồ sơ trễ hẹn và hẹn lại ngày trả kết quả: %(due)s.")
                % {"due": _local(datetime.fromisoformat(due))},
                "warn",
            )
    if kind == "letter_sent":
        return Step(event.at, _("Cơ quan đã gửi ông/bà một văn bản có chữ ký số (xem bên dưới)."))
    return None


def _resolved_text(at: datetime, facts: DossierFacts) -> str:
    if at > facts.due_at:
        return _("Đã có kết quả, trễ hẹn (hẹn trả lúc %(due)s).") % {"due": _local(facts.due_at)}
    if at.astimezone(VN_TZ).date() < facts.due_at.astimezone(VN_TZ).date():
        return _("Đã có kết quả, sớm hơn ngày hẹn.")
    return _("Đã có kết quả, đúng hẹn.")


def describe(
    facts: DossierFacts,
    events: Iterable[EventFact],
    documents: Iterable[DocumentFact],
    *,
    now: datetime,
) -> Status:
    """The dossier's status and history in words a citizen reads.

    Received, being processed, scans refused (with the clerk's reason), rejected by
    the official (with the reason), supplement requested, late (when the due moment
    passed before a result), resolved (early, on time or late), delivered. Sentences
    repeated by a dossier of several documents are shown once.
    """
    by_id = {document.id: document for document in documents}
    ordered = sorted(events, key=lambda event: event.at)
    steps: list[Step] = []
    seen_work = False
    if not any(event.kind == "registered" for event in ordered):
        steps.append(Step(facts.received_at, _("Bộ phận một cửa đã tiếp nhận hồ sơ.")))
    shown: set[str] = set()  # since the last setback: several documents repeat the same steps
    setback = False
    for event in ordered:
        step = _step(event, by_id, facts, seen_work=seen_work, setback=setback)
        seen_work = seen_work or event.kind in _WORKING
        if step is None or step.text in shown:
            continue
        steps.append(step)
        setback = step.tone in {"warn", "bad"}
        shown = set() if setback else shown | {step.text}
    finished = facts.resolved_at or now
    late = finished > facts.due_at
    if late:
        steps.append(
            Step(
                facts.due_at,
                _("Hồ sơ đã quá hạn hẹn trả kết quả (%(due)s).") % {"due": _local(facts.due_at)},
                "bad",
            )
        )
    steps.sort(key=lambda step: step.at)  # stable: events of one moment keep their order
    headline, tone = _headline(facts, ordered, by_id)
    if late:
        headline += _(" — trễ hẹn")
        tone = "bad" if tone != "ok" else "warn"
    return Status(headline=headline, tone=tone, late=late, steps=tuple(steps))


def _headline(
    facts: DossierFacts, events: Sequence[EventFact], documents: Mapping[int, DocumentFact]
) -> tuple[str, str]:
    """The current status: what a citizen asks first ("is it ready? is anything wrong?")."""
    if facts.resolved_at is not None:
        return _("Đã có kết quả"), "ok"
    latest_kind = next(
        (
            e.kind
            for e in reversed(events)
            if e.kind in {"supplement_requested", "scans_received", "papers_completed"}
        ),
        "",
    )
    if latest_kind == "supplement_requested":
        return _("Chờ ông/bà bổ sung giấy tờ"), "bad"
    if documents:
        latest = documents[max(documents)]
        if latest.state == DocumentState.REJECTED:
            return _("Đang xử lý lại (lãnh đạo trả lại hồ sơ)"), "warn"
        if latest.state == DocumentState.FAILED:
            return _("Chờ quét lại giấy tờ (bản quét chưa đạt)"), "warn"
        return _("Đang giải quyết"), "info"
    return _("Đã tiếp nhận"), "info"


def dossier_status(
    dossier: Dossier,
    *,
    documents: Iterable[Document] | None = None,
    events: Iterable[EventFact] | None = None,
    now: datetime | None = None,
) -> Status:
    """Describe ``dossier``; its documents and events are loaded unless given."""
    docs = list(documents) if documents is not None else list(dossier.documents.all())
    if events is None:
        events = [
            EventFact(kind, at, document_id, detail or {})
            for kind, at, document_id, detail in dossier.events.values_list(
                "kind", "at", "document_id", "detail"
            )
        ]
    return describe(
        DossierFacts(dossier.received_at, dossier.due_at, dossier.resolved_at),
        events,
        [DocumentFact(d.pk, d.state, d.reason) for d in docs],
        now=now or timezone.now(),
    )
