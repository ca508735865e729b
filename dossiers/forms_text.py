"""The one-stop forms' default wording (Decree 61/2018 and 118/2025) and how it is filled in.

The titles are those of Appendix I of Circular 03/2025/TT-VPCP (15/9/2025): 02 "Phiếu yêu cầu
bổ sung, hoàn thiện hồ sơ", 03 "Phiếu từ chối tiếp nhận giải quyết hồ sơ", 04 "Văn bản xin lỗi
và đề nghị gia hạn thời gian giải quyết", 05 "Thông báo dừng giải quyết hồ sơ", 06 "Phiếu kiểm
soát quá trình giải quyết hồ sơ", 07 "Sổ theo dõi hồ sơ"; under Circular 01/2018/TT-VPCP the
apology was "Phiếu xin lỗi và hẹn lại ngày trả kết quả", the slip 05 and the book 06. The
bodies keep the forms' fixed phrases ("Yêu cầu ông/bà hoàn thiện hồ sơ gồm những nội dung như
sau", "thông báo không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau", "Xin thông báo
để ông/bà được biết và thực hiện") around the dossier's own facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from string import Template
from typing import Final

from core.vntime import VN_TZ

__all__ = [
    "BOOK_COLUMNS",
    "BOOK_FORM",
    "BOOK_TITLE",
    "DEFAULTS",
    "FORM_NUMBERS",
    "NUMBER_MARKS",
    "REASONS",
    "SLIP_FORM",
    "SLIP_TITLE",
    "TemplateText",
    "fill",
    "regime_of",
]

DECREE_118_FROM: Final = date(2025, 7, 1)
"""Decree 118/2025/NĐ-CP applies to dossiers received from this day (Vietnam time)."""


def regime_of(received_at: datetime) -> str:
    """``"2025"`` for a dossier received under Decree 118/2025, else ``"2018"`` (Decree 61)."""
    return "2025" if received_at.astimezone(VN_TZ).date() >= DECREE_118_FROM else "2018"


@dataclass(frozen=True)
class TemplateText:
    """One form's wording: title, paragraphs (``$name`` placeholders) and recipients."""

    title: str
    body: str
    recipients: str


FORM_NUMBERS: Final[Mapping[tuple[str, str], str]] = {
    ("2025", "02"): "Mẫu số 02",
    ("2025", "03"): "Mẫu số 03",
    ("2025", "04"): "Mẫu số 04",
    ("2025", "05"): "Mẫu số 05",
    ("2018", "02"): "Mẫu số 02",
    ("2018", "03"): "Mẫu số 03",
    ("2018", "04"): "Mẫu số 04",
    ("2018", "05"): "",
}
"""The form number printed in the corner, per regime (Circular 03/2025/TT-VPCP, and
Circular 01/2018/TT-VPCP, which had no notice of stopping)."""

SLIP_FORM: Final[Mapping[str, str]] = {"2025": "Mẫu số 06", "2018": "Mẫu số 05"}
"""The process-control slip's number: 06 since 1 July 2025, 05 under Circular 01/2018."""

SLIP_TITLE: Final = "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"

BOOK_FORM: Final[Mapping[str, str]] = {"2025": "Mẫu số 07", "2018": "Mẫu số 06"}
"""The tracking book's number: 07 under Circular 03/2025/TT-VPCP, 06 under Circular 01/2018."""

BOOK_TITLE: Final = "SỔ THEO DÕI HỒ SƠ"

BOOK_COLUMNS: Final = (
    "STT",
    "Mã hồ sơ",
    "Tên thủ tục hành chính",
    "Số lượng hồ sơ (bộ)",
    "Tên tổ chức, cá nhân",
    "Địa chỉ, số điện thoại",
    "Cơ quan chủ trì giải quyết",
    "Nhận hồ sơ",
    "Hẹn trả kết quả",
    "Chuyển hồ sơ đến cơ quan giải quyết",
    "Có kết quả / yêu cầu trả lại hồ sơ",
    "Trả kết quả",
    "Ký nhận",
    "Ghi chú",
)
"""The book's columns, numbered (1) to (14) under the heading; (8) to (12) are dates."""

NUMBER_MARKS: Final[Mapping[str, str]] = {"02": "PYCBS", "03": "PTC", "04": "XL", "05": "TB"}
"""The letters of each form in its number (``07/XL``)."""

REASONS: Final = (
    "Hồ sơ cần xác minh thêm với cơ quan, tổ chức liên quan",
    "Cơ quan phối hợp liên thông chưa trả kết quả đúng hạn",
    "Cán bộ giải quyết hồ sơ chưa hoàn thành việc thẩm định",
    "Sự cố kỹ thuật của hệ thống thông tin giải quyết thủ tục hành chính",
    "Thiên tai, dịch bệnh hoặc sự kiện bất khả kháng",
)
"""Reasons offered for a late dossier; the head may also type their own."""

_APOLOGY_2025 = TemplateText(
    title="VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
    body=(
        "$office đã tiếp nhận hồ sơ mã số $code của ông/bà $applicant về thủ tục "
        "$procedure (lĩnh vực $field) lúc $received, hẹn trả kết quả lúc $due.\n"
        "Đến nay hồ sơ chưa giải quyết xong theo thời hạn đã hẹn. Lý do: $reason.\n"
        "$office thành thật xin lỗi ông/bà vì sự chậm trễ này và đề nghị gia hạn thời gian "
        "giải quyết thêm $extra_days ngày làm việc; kết quả sẽ được trả lúc $new_due.\n"
        "Ông/bà có thể theo dõi tình trạng hồ sơ trên cổng tra cứu bằng mã hồ sơ và mã tra "
        "cứu in trên giấy tiếp nhận. Mong ông/bà thông cảm."
    ),
    recipients="Như trên;\nBộ phận Một cửa;\nLưu: VT.",
)

_APOLOGY_2018 = TemplateText(
    title="PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
    body=(
        "Ngày $received, $office tiếp nhận hồ sơ mã số $code của ông/bà $applicant về thủ "
        "tục $procedure; thời hạn trả kết quả ghi trên giấy tiếp nhận là $due.\n"
        "Đến nay, hồ sơ của ông/bà chưa được giải quyết đúng hẹn. Lý do: $reason.\n"
        "Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của ông/bà.\n"
        "$office xin lỗi ông/bà và hẹn lại thời gian trả kết quả lúc $new_due "
        "(thêm $extra_days ngày làm việc).\n"
        "Rất mong ông/bà thông cảm vì sự chậm trễ này."
    ),
    recipients="Như trên;\nLưu: VT.",
)

_SUPPLEMENT = TemplateText(
    title="PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    body=(
        "$office đã tiếp nhận hồ sơ mã số $code của ông/bà $applicant lúc $received. "
        "Nội dung yêu cầu giải quyết: $procedure.\n"
        "Yêu cầu ông/bà hoàn thiện hồ sơ gồm những nội dung như sau: $reason.\n"
        "Thời gian chờ ông/bà bổ sung không tính vào thời hạn giải quyết; thời hạn tiếp tục "
        "được tính từ ngày ông/bà nộp đủ giấy tờ.\n"
        "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, ông/bà liên hệ bộ phận một cửa "
        "của $office để được hướng dẫn."
    ),
    recipients="Như trên;\nLưu: bộ phận một cửa.",
)

_REFUSAL = TemplateText(
    title="PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
    body=(
        "$office đã tiếp nhận hồ sơ mã số $code của ông/bà $applicant lúc $received. "
        "Nội dung yêu cầu giải quyết: $procedure.\n"
        "Qua xem xét, $office thông báo không tiếp nhận, giải quyết hồ sơ này với lý do cụ "
        "thể như sau: $reason.\n"
        "Xin thông báo để ông/bà được biết và thực hiện; ông/bà có quyền phản ánh, kiến nghị "
        "theo quy định của pháp luật."
    ),
    recipients="Như trên;\nLưu: bộ phận một cửa.",
)

_STOP = TemplateText(
    title="THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
    body=(
        "$office thông báo dừng giải quyết hồ sơ mã số $code của ông/bà $applicant về thủ "
        "tục $procedure, tiếp nhận lúc $received.\n"
        "Lý do: $reason.\n"
        "Giấy tờ của ông/bà được trả lại tại bộ phận một cửa của $office."
    ),
    recipients="Như trên;\nLưu: bộ phận một cửa.",
)

DEFAULTS: Final[Mapping[tuple[str, str], TemplateText]] = {
    ("2025", "02"): _SUPPLEMENT,
    ("2025", "03"): _REFUSAL,
    ("2025", "04"): _APOLOGY_2025,
    ("2025", "05"): _STOP,
    ("2018", "02"): _SUPPLEMENT,
    ("2018", "03"): _REFUSAL,
    ("2018", "04"): _APOLOGY_2018,
    ("2018", "05"): _STOP,
}
"""The wording used while an administrator has not written their own, per (regime, form)."""


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its ``$name`` placeholders filled; unknown ones are left as written."""
    return Template(text).safe_substitute(values)
