"""The forms' default wording carries the titles and fixed phrases of Circular 03/2025/TT-VPCP
(and of Circular 01/2018/TT-VPCP for dossiers received before 1 July 2025)."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.vntime import VN_TZ
from dossiers.models import LetterForm
from dossiers.services.letters import draft_letter
from tests.conftest import MakeDossier

NEW = datetime(2026, 3, 2, 9, tzinfo=VN_TZ)
OLD = datetime(2025, 6, 20, 9, tzinfo=VN_TZ)


@pytest.mark.parametrize(
    ("form", "received", "title", "phrase"),
    [
        (
            LetterForm.SUPPLEMENT,
            NEW,
            "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            "Yêu cầu ông/bà hoàn thiện hồ sơ gồm những nội dung như sau: Thiếu giấy",
        ),
        (
            LetterForm.REFUSAL,
            NEW,
            "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
            "thông báo không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau: Thiếu",
        ),
        (
            LetterForm.APOLOGY,
            NEW,
            "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
            "đề nghị gia hạn thời gian giải quyết thêm 2 ngày làm việc",
        ),
        (
            LetterForm.APOLOGY,
            OLD,
            "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
            "Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của ông/bà.",
        ),
        (LetterForm.STOP, NEW, "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ", "Lý do: Thiếu giấy"),
    ],
)
def test_titles_and_fixed_phrases(
    form: str, received: datetime, title: str, phrase: str, make_dossier: MakeDossier
) -> None:
    dossier = make_dossier(received_at=received).dossier
    letter = draft_letter(dossier, form, reason="Thiếu giấy chứng sinh", extra_days=2)
    assert letter.title == title
    assert phrase in letter.text
    assert "Đăng ký khai sinh" in letter.text and dossier.code in letter.text


def test_the_forms_names_follow_circular_03_2025() -> None:
    assert LetterForm.REFUSAL.label == "Mẫu 03 — Phiếu từ chối tiếp nhận giải quyết hồ sơ"
    assert LetterForm.APOLOGY.label == (
        "Mẫu 04 — Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"
    )
