"""Tests of the citizen's status and history: the words for each case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.test import Client

from dossiers.models import Document, DocumentState, Dossier
from dossiers.services.workflow import record_event, transition
from publishing.services.status import (
    DocumentFact,
    DossierFacts,
    EventFact,
    Status,
    describe,
    dossier_status,
)
from tests.conftest import DataDirs, MakeDossier

RECEIVED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 on Monday 2 March in Vietnam
DUE = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # 17:00 on Thursday 5 March
FACTS = DossierFacts(RECEIVED, DUE)


def at(hours: float) -> datetime:
    return RECEIVED + timedelta(hours=hours)


def texts(status: Status) -> list[str]:
    return [step.text for step in status.steps]


def test_received_only() -> None:
    """Just registered: received, with the promised time in Vietnam time."""
    status = describe(FACTS, [EventFact("registered", RECEIVED)], [], now=at(1))
    assert status.headline == "Đã tiếp nhận"
    assert texts(status) == [
        "Bộ phận một cửa đã tiếp nhận hồ sơ; hẹn trả kết quả lúc 17:00 ngày 05/03/2026."
    ]
    assert not status.late


def test_being_processed() -> None:
    """Scans in and digitized: being processed, waiting for the official."""
    events = [
        EventFact("registered", RECEIVED),
        EventFact("scans_received", at(1), 1),
        EventFact("digitize_started", at(1.1), 1),
        EventFact("digitized", at(1.2), 1),
    ]
    status = describe(FACTS, events, [DocumentFact(1, DocumentState.AWAITING_APPROVAL)], now=at(2))
    assert status.headline == "Đang giải quyết"
    assert texts(status)[1:] == [
        "Hồ sơ đang được giải quyết: giấy tờ đã được quét vào hệ thống.",
        "Giấy tờ đã được số hóa, đang chờ lãnh đạo xem xét và ký.",
    ]


def test_rejected_by_the_official_with_the_reason() -> None:
    """A rejection does not read 'being processed': it says so, with the official's reason."""
    events = [
        EventFact("registered", RECEIVED),
        EventFact("scans_received", at(1), 1),
        EventFact("rejected", at(3), 1),
    ]
    documents = [DocumentFact(1, DocumentState.REJECTED, "Thiếu  chữ ký\n của người làm chứng.")]
    status = describe(FACTS, events, documents, now=at(4))
    assert status.headline == "Đang xử lý lại (lãnh đạo trả lại hồ sơ)"
    assert status.tone == "warn"
    assert status.steps[-1].text == (
        "Lãnh đạo chưa duyệt, hồ sơ được trả lại bộ phận một cửa để xử lý lại. "
        "Lý do: Thiếu chữ ký của người làm chứng."
    )
    assert status.steps[-1].tone == "warn"


def test_scans_refused_with_the_clerks_reason() -> None:
    """A failed scan reads as such, with the reason given to the clerk; rescanning is shown."""
    events = [
        EventFact("registered", RECEIVED),
        EventFact("scans_received", at(1), 1),
        EventFact("failed", at(1.5), 1),
    ]
    documents = [DocumentFact(1, DocumentState.FAILED, "Trang 2 quá mờ, không đọc được.")]
    status = describe(FACTS, events, documents, now=at(2))
    assert status.headline == "Chờ quét lại giấy tờ (bản quét chưa đạt)"
    assert "Bản quét giấy tờ chưa đạt yêu cầu" in status.steps[-1].text
    assert status.steps[-1].text.endswith("Lý do: Trang 2 quá mờ, không đọc được.")

    rescanned = describe(
        FACTS,
        [*events, EventFact("scans_received", at(3), 2)],
        [*documents, DocumentFact(2, DocumentState.DIGITIZING)],
        now=at(4),
    )
    assert rescanned.headline == "Đang giải quyết"
    assert rescanned.steps[-1].text == "Giấy tờ đã được quét lại; hồ sơ tiếp tục được giải quyết."


def test_supplement_requested() -> None:
    """A request to supplement the dossier asks the citizen to act."""
    events = [
        EventFact("registered", RECEIVED),
        EventFact("supplement_requested", at(5), None, {"reason": "Bổ sung bản sao CCCD."}),
    ]
    status = describe(FACTS, events, [], now=at(6))
    assert status.headline == "Chờ ông/bà bổ sung giấy tờ"
    assert status.steps[-1].text == (
        "Cơ quan đề nghị ông/bà bổ sung giấy tờ cho hồ sơ. Lý do: Bổ sung bản sao CCCD."
    )
    assert status.steps[-1].tone == "bad"


def test_late_while_still_open() -> None:
    """Past the due moment without a result: it says the dossier is late."""
    status = describe(
        FACTS,
        [EventFact("registered", RECEIVED), EventFact("scans_received", at(1), 1)],
        [DocumentFact(1, DocumentState.DIGITIZING)],
        now=DUE + timedelta(days=1),
    )
    assert status.late
    assert status.headline == "Đang giải quyết — trễ hẹn"
    assert status.steps[-1].text == "Hồ sơ đã quá hạn hẹn trả kết quả (17:00 ngày 05/03/2026)."
    assert status.steps[-1].at == DUE


def test_resolved_on_time_early_and_late() -> None:
    """Resolved: on time, early or late against the promise, in words."""
    for resolved, words in (
        (DUE - timedelta(hours=1), "Đã có kết quả, đúng hẹn."),
        (RECEIVED + timedelta(days=1), "Đã có kết quả, sớm hơn ngày hẹn."),
        (DUE + timedelta(hours=20), "Đã có kết quả, trễ hẹn (hẹn trả lúc 17:00 ngày 05/03/2026)."),
    ):
        status = describe(
            DossierFacts(RECEIVED, DUE, resolved),
            [EventFact("registered", RECEIVED), EventFact("resolved", resolved, 1)],
            [DocumentFact(1, DocumentState.PUBLISHED)],
            now=resolved + timedelta(days=3),
        )
        assert words in texts(status)
        assert status.headline.startswith("Đã có kết quả")
    assert status.late and status.headline == "Đã có kết quả — trễ hẹn"
    assert "Hồ sơ đã quá hạn hẹn trả kết quả (17:00 ngày 05/03/2026)." in texts(status)


def test_delivered_and_steps_of_several_documents_shown_once() -> None:
    """Delivered is the last step; two documents signed do not say it twice."""
    resolved = at(30)
    events = [
        EventFact("registered", RECEIVED),
        EventFact("scans_received", at(1), 1),
        EventFact("scans_received", at(1), 2),
        EventFact("signed", at(20), 1),
        EventFact("signed", at(20.5), 2),
        EventFact("resolved", resolved, 1),
        EventFact("delivered", at(30.1), 1),
        EventFact("lookup_guessing", at(31)),
        EventFact("auto_sign_planned", at(2), 1),
    ]
    status = describe(
        DossierFacts(RECEIVED, DUE, resolved),
        events,
        [DocumentFact(1, DocumentState.DELIVERED), DocumentFact(2, DocumentState.DELIVERED)],
        now=at(40),
    )
    assert texts(status) == [
        "Bộ phận một cửa đã tiếp nhận hồ sơ; hẹn trả kết quả lúc 17:00 ngày 05/03/2026.",
        "Hồ sơ đang được giải quyết: giấy tờ đã được quét vào hệ thống.",
        "Lãnh đạo đã ký số văn bản kết quả.",
        "Đã có kết quả, sớm hơn ngày hẹn.",
        "Kết quả đã được gửi đến ông/bà (thư điện tử hoặc tin nhắn).",
    ]
    assert status.headline == "Đã có kết quả" and status.tone == "ok"


def test_dossier_status_reads_the_database_and_the_page_shows_it(
    client: Client, make_dossier: MakeDossier, data_dirs: DataDirs, clear_cache: None
) -> None:
    """A rejected dossier's page reads 'rejected' with the reason, not 'being processed'."""
    registered = make_dossier()
    dossier = registered.dossier
    Dossier.objects.filter(pk=dossier.pk).update(status=Dossier.Status.PROCESSING)
    document = Document.objects.create(
        dossier=dossier, state=DocumentState.AWAITING_APPROVAL, source_sha256="0" * 64
    )
    record_event(dossier, "scans_received", document=document)
    assert transition(
        document.pk,
        DocumentState.AWAITING_APPROVAL,
        DocumentState.REJECTED,
        kind="rejected",
        reason="Sai họ tên cha trong tờ khai.",
    )
    dossier.refresh_from_db()
    status = dossier_status(dossier)
    assert status.headline == "Đang xử lý lại (lãnh đạo trả lại hồ sơ)"
    assert status.steps[-1].text.endswith("Lý do: Sai họ tên cha trong tờ khai.")

    page = client.post("/tra-cuu/", {"code": dossier.code, "secret": registered.secret})
    html = page.content.decode()
    assert "Đang xử lý lại (lãnh đạo trả lại hồ sơ)" in html
    assert "Sai họ tên cha trong tờ khai." in html
    assert "Đang giải quyết</" not in html


def test_an_imported_dossier_is_received_at_its_desk_time() -> None:
    """A dossier registered later with an earlier receipt time is 'received' at that time,
    before the overdue line when it is already late."""
    registered_later = RECEIVED + timedelta(days=10)
    status = describe(FACTS, [EventFact("registered", registered_later)], [], now=at(300))
    assert [step.at for step in status.steps] == [RECEIVED, DUE]
    assert status.steps[0].text.startswith("Bộ phận một cửa đã tiếp nhận hồ sơ")
