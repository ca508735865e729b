"""A dossier's life: the supplement pause across Tết, a transfer there and back, the forms."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from unittest import mock

import pytest
from pypdf import PdfReader

from core.pdfa.check import check_pdfa
from core.vntime import VN_TZ
from dossiers.calendar import WorkCalendar, due_at, working_days_left
from dossiers.errors import LifeError
from dossiers.forms_text import regime_of
from dossiers.models import (
    Dossier,
    DossierStep,
    Letter,
    LetterForm,
    LetterTemplate,
    Office,
    StepKind,
)
from dossiers.models.records import EVENT_WORDS
from dossiers.services import life
from dossiers.services.letters import approve_letter, draft_letter, slip_pdf
from tests.conftest import DataDirs, MakeDossier


def vn(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=VN_TZ)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run the services as if it were ``moment``."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_days_left_and_restart_across_tet() -> None:
    """Received Thursday 12/02/2026 for 3 working days: Tết (16–20/02) is skipped, so due
    Tuesday 24/02. Stopped on Friday 13/02, 2 days are left (23 and 24/02); the papers
    completed on Wednesday 04/03 restart the clock: due Friday 06/03 at 17:00."""
    calendar = WorkCalendar()
    due = due_at(vn(2026, 2, 12, 10), 3, calendar)
    assert due.astimezone(VN_TZ).date() == date(2026, 2, 24)
    left = working_days_left(vn(2026, 2, 13, 9), due, calendar)
    assert left == 2
    again = due_at(vn(2026, 3, 4, 8), left, calendar)
    assert again.astimezone(VN_TZ) == vn(2026, 3, 6, 17)
    assert working_days_left(vn(2026, 2, 25, 9), due, calendar) == 0


@pytest.mark.django_db()
def test_supplement_pause_moves_the_due_date(make_dossier: MakeDossier) -> None:
    dossier = make_dossier(received_at=vn(2026, 2, 12, 10)).dossier
    assert dossier.due_at.astimezone(VN_TZ).date() == date(2026, 2, 24)
    with at(vn(2026, 2, 13, 9)):
        life.request_supplement(dossier, "Thiếu bản sao giấy chứng sinh")
    dossier.refresh_from_db()
    assert dossier.status == Dossier.Status.SUPPLEMENT
    assert dossier.paused_days_left == 2
    with pytest.raises(LifeError):
        life.request_supplement(dossier, "lần nữa")
    with at(vn(2026, 3, 4, 8)):
        new_due = life.complete_papers(dossier)
    dossier.refresh_from_db()
    assert new_due == dossier.due_at
    assert dossier.due_at.astimezone(VN_TZ) == vn(2026, 3, 6, 17)
    assert dossier.status == Dossier.Status.PROCESSING and dossier.paused_at is None
    kinds = list(dossier.events.values_list("kind", flat=True))
    assert "supplement_requested" in kinds and "papers_completed" in kinds
    steps = list(dossier.steps.values_list("kind", flat=True))
    assert steps == [StepKind.RECEPTION, StepKind.SUPPLEMENT, StepKind.PROCESSING]


@pytest.mark.django_db()
def test_transfer_there_and_back_times_each_office(
    make_dossier: MakeDossier, other_office: Office
) -> None:
    """The receiving office holds it a day, the other office 4 working days against 3 (late),
    then it comes back; each hand-off has its own times and outcome."""
    dossier = make_dossier(received_at=vn(2026, 3, 2, 9)).dossier  # Monday
    with at(vn(2026, 3, 3, 10)):
        step = life.transfer(dossier, other_office, days=3, reason="Xác minh hộ tịch")
    assert step.office == other_office
    assert step.due_at is not None
    assert step.due_at.astimezone(VN_TZ) == vn(2026, 3, 6, 17)
    dossier.refresh_from_db()
    assert dossier.status == Dossier.Status.TRANSFERRED
    with at(vn(2026, 3, 9, 15)):
        life.transfer_back(dossier, note="Đã xác minh")
    steps = list(DossierStep.objects.filter(dossier=dossier).order_by("started_at", "pk"))
    assert [s.kind for s in steps] == [StepKind.RECEPTION, StepKind.TRANSFER, StepKind.PROCESSING]
    reception, there, back = steps
    assert reception.office_id == dossier.office_id and reception.outcome == "on_time"
    assert reception.ended_at == vn(2026, 3, 3, 10)
    assert there.office == other_office
    assert there.ended_at is not None
    assert there.ended_at - there.started_at == vn(2026, 3, 9, 15) - vn(2026, 3, 3, 10)
    assert there.outcome == "late"
    assert back.ended_at is None and back.office_id == dossier.office_id
    dossier.refresh_from_db()
    assert dossier.status == Dossier.Status.PROCESSING
    with pytest.raises(LifeError):
        life.transfer_back(dossier)


@pytest.mark.django_db()
def test_endings_and_return(make_dossier: MakeDossier) -> None:
    dossier = make_dossier().dossier
    with pytest.raises(LifeError):
        life.end_dossier(dossier, Dossier.Status.REFUSED, " ")
    life.end_dossier(dossier, Dossier.Status.REFUSED, "Không thuộc thẩm quyền")
    dossier.refresh_from_db()
    assert dossier.status == Dossier.Status.REFUSED
    with pytest.raises(LifeError):
        life.transfer_back(dossier)
    life.return_to_citizen(dossier)
    dossier.refresh_from_db()
    assert dossier.status == Dossier.Status.RETURNED


def test_every_event_kind_has_words() -> None:
    for kind in (
        "papers_completed",
        "transferred",
        "transfer_returned",
        "apology_issued",
        "due_soon",
        "due_moved",
        "letter_signed",
        "letter_sent",
        "dossier_refused",
    ):
        assert kind in EVENT_WORDS


def test_regime_by_reception_day() -> None:
    assert regime_of(vn(2025, 6, 30, 16)) == "2018"
    assert regime_of(vn(2025, 7, 1, 8)) == "2025"


@pytest.mark.django_db()
@pytest.mark.parametrize("form", [f.value for f in LetterForm])
@pytest.mark.parametrize("received", [vn(2025, 6, 20, 9), vn(2026, 3, 2, 9)])
def test_each_form_is_pdfa_with_vietnamese_text(
    form: str, received: datetime, make_dossier: MakeDossier, data_dirs: DataDirs
) -> None:
    dossier = make_dossier(received_at=received).dossier
    letter = draft_letter(dossier, form, reason="Cần xác minh thêm thông tin hộ tịch", extra_days=2)
    path = approve_letter(letter, signer_title="Chủ tịch", signer_name="Nguyễn Văn An")
    pdf = path.read_bytes()
    assert check_pdfa(pdf) == []
    text = " ".join(text_of(pdf).split())
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "Kính gửi: Ông/Bà Trần Thị Bình" in text
    assert dossier.code in text and "Nơi nhận" in text and "CHỦ TỊCH" in text
    assert "xác minh thêm thông tin hộ tịch" in text
    letter.refresh_from_db()
    assert letter.number in text and letter.state == Letter.State.APPROVED
    if form == LetterForm.APOLOGY:
        old = received < vn(2025, 7, 1, 0)
        title = "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" if old else "VĂN BẢN XIN LỖI"
        assert title in text
        assert "Mẫu số 04" in text


@pytest.mark.django_db()
def test_an_administrators_template_is_used(make_dossier: MakeDossier) -> None:
    LetterTemplate.objects.create(
        form="04",
        regime="2025",
        title="THƯ XIN LỖI",
        body="Hồ sơ $code trễ: $reason.",
        recipients="Lưu",
    )
    dossier = make_dossier(received_at=vn(2026, 3, 2, 9)).dossier
    letter = draft_letter(dossier, "04", reason="mất điện")
    assert letter.text == f"Hồ sơ {dossier.code} trễ: mất điện."
    assert letter.title == "THƯ XIN LỖI"


@pytest.mark.django_db()
def test_control_slip_shows_each_step_timed(
    make_dossier: MakeDossier, other_office: Office
) -> None:
    dossier = make_dossier(received_at=vn(2026, 3, 2, 9)).dossier
    with at(vn(2026, 3, 3, 10)):
        life.transfer(dossier, other_office, days=1)
    with at(vn(2026, 3, 9, 15)):
        life.transfer_back(dossier)
    pdf = slip_pdf(dossier, now=vn(2026, 3, 9, 16))
    assert check_pdfa(pdf) == []
    text = " ".join(text_of(pdf).split())
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text and "Mẫu số 06" in text
    assert "Đúng hạn" in text and "Trễ hạn" in text and "Đang xử lý" in text
    assert other_office.name in text
