"""Printable sheets as PDF: a dossier's receipt (giấy tiếp nhận) and the separator sheet."""

from __future__ import annotations

import hashlib
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from reportlab.lib.colors import black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from core.vntime import VN_TZ
from dossiers.qr import QR_BORDER, qr_matrix, separator_payload

__all__ = [
    "ReceiptData",
    "group_secret",
    "lookup_link",
    "receipt_qr_matrix",
    "render_receipt",
    "render_separator",
]

_FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")

TITLE = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
"""The receipt's title, as on the one-stop form."""

SECRET_NOTE = "Giữ bí mật mã tra cứu này"  # noqa: S105 (a warning text, not a password)
"""The warning printed next to the lookup secret."""


@dataclass(frozen=True)
class ReceiptData:
    """What a receipt shows; all text is printed as given (normalised to NFC)."""

    dossier_code: str
    """The dossier's code (mã hồ sơ), printed, and in the QR code's link to the lookup."""

    office_name: str
    """The office that received the dossier, printed in the header."""

    procedure_name: str
    """The administrative procedure (thủ tục hành chính) applied for."""

    applicant_name: str
    """The person or business that handed in the dossier."""

    received_at: datetime
    """When the dossier was received; aware, printed in Vietnam time."""

    due_at: datetime
    """When the result is promised; aware, printed in Vietnam time."""

    lookup_secret: str = field(repr=False)
    """The secret that, with the code, opens the public lookup; printed only here, never log it."""

    lookup_url: str
    """The public lookup's address, printed for the citizen; the QR code opens it with the
    code filled in (``lookup_link``). It carries no secret."""

    font_path: Path = _FONT_DIR / "LiberationSerif-Regular.ttf"
    """A TrueType font with Vietnamese glyphs for the body text; embedded in the PDF."""

    bold_font_path: Path = _FONT_DIR / "LiberationSerif-Bold.ttf"
    """The bold face for headings; embedded in the PDF."""

    mono_font_path: Path = _FONT_DIR / "LiberationMono-Regular.ttf"
    """A monospaced font for the code and the secret, so 0/O and 1/l stay apart."""

    def __post_init__(self) -> None:
        for name in ("received_at", "due_at"):
            moment: datetime = getattr(self, name)
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError(f"{name} must be a timezone-aware datetime")
        if not self.dossier_code:
            raise ValueError("dossier_code must not be empty")


def lookup_link(lookup_url: str, code: str) -> str:
    """Return the address the receipt's QR code holds: the lookup with `code` filled in.

    ``https://…/tra-cuu/?ma=<code>``; never the secret, which is typed from the paper.
    """
    separator = "&" if "?" in lookup_url else "?"
    return f"{lookup_url}{separator}ma={quote(code, safe='')}"


def receipt_qr_matrix(link: str) -> list[list[bool]]:
    """Return the QR modules the receipt draws for `link`, row by row, True for dark."""
    return qr_matrix(link)


def group_secret(secret: str, size: int = 4) -> str:
    """Return `secret` in space-separated groups of `size` characters, for reading aloud."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


def _font(path: Path) -> str:
    """Register the TrueType font at `path` once and return its reportlab name."""
    name = "motcua-" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _local(moment: datetime) -> str:
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break `text` into lines no wider than `width`, splitting over-long words by character."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if pdfmetrics.stringWidth(candidate, font, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and pdfmetrics.stringWidth(line + char, font, size) > width:
                lines.append(line)
                line = ""
            line += char
    if line:
        lines.append(line)
    return lines or [""]


class _Page:
    """A cursor over one A4 page: writes lines downwards from the top margin."""

    left: float = 30 * mm
    right: float = A4[0] - 15 * mm
    top: float = A4[1] - 20 * mm

    def __init__(self, canvas: Canvas, regular: str, bold: str, mono: str) -> None:
        self.canvas = canvas
        self.regular = regular
        self.bold = bold
        self.mono = mono
        self.y = self.top

    @property
    def width(self) -> float:
        return self.right - self.left

    def centred(
        self, text: str, font: str, size: float, centre: float, y: float, *, underline: bool = False
    ) -> None:
        self.canvas.setFont(font, size)
        self.canvas.drawCentredString(centre, y, text)
        if underline:
            half = pdfmetrics.stringWidth(text, font, size) / 2
            self.canvas.setLineWidth(0.6)
            self.canvas.line(centre - half, y - 2.5, centre + half, y - 2.5)

    def field(self, label: str, value: str, *, width: float, size: float = 12) -> None:
        """Write ``label value`` with the label in bold, wrapping the value under itself."""
        label_width = pdfmetrics.stringWidth(label + " ", self.bold, size)
        lines = _wrap(value, self.regular, size, width - label_width)
        self.canvas.setFont(self.bold, size)
        self.canvas.drawString(self.left, self.y, label)
        self.canvas.setFont(self.regular, size)
        for line in lines:
            self.canvas.drawString(self.left + label_width, self.y, line)
            self.y -= size * 1.45
        self.y -= 2

    def paragraph(self, text: str, font: str, size: float, *, indent: float = 0) -> None:
        self.canvas.setFont(font, size)
        for line in _wrap(text, font, size, self.width - 2 * indent):
            self.canvas.drawString(self.left + indent, self.y, line)
            self.y -= size * 1.4


def _fit(text: str, font: str, size: float, width: float) -> float:
    """Return the largest size up to `size` at which `text` fits in `width`."""
    return min(size, size * width / float(pdfmetrics.stringWidth(text, font, size)))


def _draw_qr(
    canvas: Canvas, matrix: Sequence[Sequence[bool]], x: float, y: float, side: float
) -> None:
    """Draw `matrix` with its quiet zone as a vector form whose unit is one module.

    The square of `side` points has its lower-left corner at (`x`, `y`). Each run of
    dark modules in a row is one rectangle, so no hairline seams split a run.
    """
    count = len(matrix)
    total = count + 2 * QR_BORDER
    canvas.beginForm("dossier-qr", 0, 0, total, total)
    canvas.setFillColor(white)
    canvas.rect(0, 0, total, total, stroke=0, fill=1)
    canvas.setFillColor(black)
    for row_index, row in enumerate(matrix):
        y_module = total - QR_BORDER - row_index - 1
        column = 0
        while column < count:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < count and row[column]:
                column += 1
            canvas.rect(QR_BORDER + start, y_module, column - start, 1, stroke=0, fill=1)
    canvas.endForm()
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(side / total, side / total)
    canvas.doForm("dossier-qr")
    canvas.restoreState()


def render_receipt(data: ReceiptData) -> bytes:
    """Return the receipt of `data` as a one-page A4 PDF with its fonts embedded.

    The page shows the national motto, the office, the title, the dossier code as
    text and as a QR code (the lookup's link with the code), the applicant, the
    procedure, the times of receipt and of the promised result in Vietnam time,
    the lookup secret in groups of four with the warning to keep it secret, how to
    look the dossier up online, and places for both signatures.
    """
    buffer = io.BytesIO()
    regular = _font(data.font_path)
    # The initial font is ours, so no unembedded Helvetica is referenced by the page.
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1, initialFontName=regular)
    code = _nfc(data.dossier_code)
    canvas.setTitle(f"Giấy tiếp nhận hồ sơ {code}")
    canvas.setCreator("motcua")
    page = _Page(canvas, regular, _font(data.bold_font_path), _font(data.mono_font_path))

    # Header: office on the left, national motto on the right (Decree 30/2020 layout).
    left_centre = page.left + page.width * 0.19
    right_centre = page.left + page.width * 0.71
    motto = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    motto_size = _fit(motto, page.bold, 12.5, page.width * 0.56)
    page.centred(motto, page.bold, motto_size, right_centre, page.y)
    page.centred(
        "Độc lập - Tự do - Hạnh phúc", page.bold, 13, right_centre, page.y - 16, underline=True
    )
    office_y = page.y
    for line in _wrap(_nfc(data.office_name).upper(), page.bold, 11, page.width * 0.38):
        page.centred(line, page.bold, 11, left_centre, office_y)
        office_y -= 13.5
    canvas.setLineWidth(0.6)
    canvas.line(left_centre - 30, office_y + 5, left_centre + 30, office_y + 5)
    received = data.received_at.astimezone(VN_TZ)
    page.y = min(office_y, page.y - 16) - 28
    canvas.setFont(page.regular, 12)
    canvas.drawRightString(
        page.right,
        page.y,
        f"Ngày {received:%d} tháng {received:%m} năm {received:%Y}",
    )
    page.y -= 34

    centre = page.left + page.width / 2
    page.centred(TITLE, page.bold, _fit(TITLE, page.bold, 15, page.width), centre, page.y)
    page.y -= 20
    code_label = pdfmetrics.stringWidth("Mã hồ sơ: ", page.bold, 13)
    code_width = pdfmetrics.stringWidth(code, page.mono, 13)
    start = centre - (code_label + code_width) / 2
    canvas.setFont(page.bold, 13)
    canvas.drawString(start, page.y, "Mã hồ sơ: ")
    canvas.setFont(page.mono, 13)
    canvas.drawString(start + code_label, page.y, code)
    page.y -= 30

    # Fields on the left, the QR code (the lookup with the code filled in) on the right.
    qr_side = 38 * mm
    qr_top = page.y + 12
    link = lookup_link(_nfc(data.lookup_url), code)
    _draw_qr(canvas, receipt_qr_matrix(link), page.right - qr_side, qr_top - qr_side, qr_side)
    canvas.setFont(page.regular, 9)
    canvas.drawCentredString(
        page.right - qr_side / 2, qr_top - qr_side - 10, "QR: mở trang tra cứu"
    )
    text_width = page.width - qr_side - 6 * mm
    page.field("Cơ quan tiếp nhận:", _nfc(data.office_name), width=text_width)
    page.field("Người nộp hồ sơ:", _nfc(data.applicant_name), width=text_width)
    page.field("Thủ tục hành chính:", _nfc(data.procedure_name), width=text_width)
    page.field("Thời gian nhận hồ sơ:", _local(data.received_at), width=text_width)
    page.field("Thời gian hẹn trả kết quả:", _local(data.due_at), width=text_width)
    page.y = min(page.y, qr_top - qr_side - 14) - 16

    # The lookup box: secret, warning, how to look up online.
    box_top = page.y + 14
    page.y -= 6
    page.paragraph("TRA CỨU HỒ SƠ TRỰC TUYẾN", page.bold, 12.5, indent=4 * mm)
    page.y -= 4
    label = "Mã tra cứu: "
    canvas.setFont(page.bold, 12)
    canvas.drawString(page.left + 4 * mm, page.y, label)
    secret_x = page.left + 4 * mm + pdfmetrics.stringWidth(label, page.bold, 12)
    secret_width = page.right - 4 * mm - secret_x
    for line in _wrap(group_secret(_nfc(data.lookup_secret)), page.mono, 14, secret_width):
        canvas.setFont(page.mono, 14)
        canvas.drawString(secret_x, page.y, line)
        page.y -= 19
    page.y -= 2
    page.paragraph(
        f"{SECRET_NOTE}: ai có mã hồ sơ và mã tra cứu đều xem được tình trạng và tải được "
        "kết quả của hồ sơ. Không chụp, không chia sẻ giấy này.",
        page.bold,
        11,
        indent=4 * mm,
    )
    page.y -= 4
    steps = [
        f"1. Truy cập cổng tra cứu: {_nfc(data.lookup_url)}",
        "2. Nhập mã hồ sơ và mã tra cứu in trên giấy này (không cần nhập dấu cách).",
        "3. Xem tình trạng giải quyết; khi có kết quả, tải văn bản đã ký số và kiểm tra chữ ký.",
        "Quét mã QR để mở trang tra cứu với mã hồ sơ đã điền sẵn (mã QR không chứa mã tra cứu).",
        "Khi đến nhận kết quả, mang theo giấy này.",
    ]
    for step in steps:
        page.paragraph(step, page.regular, 11.5, indent=4 * mm)
    canvas.setLineWidth(0.8)
    page.y -= 4
    canvas.rect(page.left, page.y + 4, page.width, box_top - page.y - 4, stroke=1, fill=0)
    page.y -= 34

    # Signatures.
    for centre, who in (
        (page.left + page.width * 0.22, "NGƯỜI NỘP HỒ SƠ"),
        (page.left + page.width * 0.75, "NGƯỜI TIẾP NHẬN HỒ SƠ"),
    ):
        page.centred(who, page.bold, 12, centre, page.y)
        page.centred("(Ký và ghi rõ họ tên)", page.regular, 11, centre, page.y - 15)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


SEPARATOR_TITLE = "TỜ PHÂN CÁCH HỒ SƠ"
"""The separator sheet's title."""


def render_separator(dossier_code: str = "", office_name: str = "") -> bytes:
    """Return the separator sheet as a one-page A4 PDF: a large QR code saying "next
    dossier" (with ``dossier_code`` when given) and how to scan a stack with it.

    The watcher leaves the sheet out of the result and starts a new dossier after it.
    """
    buffer = io.BytesIO()
    regular, bold = _font(ReceiptData.font_path), _font(ReceiptData.bold_font_path)
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1, initialFontName=regular)
    code = _nfc(dossier_code.strip())
    canvas.setTitle(f"{SEPARATOR_TITLE} {code}".strip())
    canvas.setCreator("motcua")
    page = _Page(canvas, regular, bold, _font(ReceiptData.mono_font_path))
    centre = page.left + page.width / 2
    if office_name:
        page.centred(_nfc(office_name).upper(), bold, 12, centre, page.y)
    page.y -= 40
    page.centred(SEPARATOR_TITLE, bold, 24, centre, page.y)
    page.y -= 28
    subtitle = f"Mã hồ sơ: {code}" if code else "Bắt đầu hồ sơ tiếp theo"
    page.centred(subtitle, page.mono if code else bold, 16, centre, page.y)
    side = 90 * mm
    page.y -= 20 + side
    _draw_qr(canvas, qr_matrix(separator_payload(code)), centre - side / 2, page.y, side)
    page.y -= 36
    steps = [
        "Cách dùng khi quét cả chồng hồ sơ một lần:",
        "1. Đặt tờ này lên trên giấy tờ của mỗi hồ sơ (hoặc đặt giấy tiếp nhận có mã QR của "
        "hồ sơ), rồi quét cả chồng thành một tệp PDF hoặc TIFF vào thư mục quét theo lô.",
        "2. Hệ thống tách tệp tại mỗi tờ phân cách và mỗi giấy tiếp nhận; các tờ này không "
        "nằm trong bản số hóa.",
        "3. Tờ không ghi mã hồ sơ chỉ dùng ngay trước giấy tiếp nhận của hồ sơ; các trang "
        "sau nó mà không có giấy tiếp nhận sẽ vào danh sách bản quét lỗi.",
        "4. Giữ tờ phẳng, không gấp, không viết đè lên mã QR; có thể in lại và dùng nhiều lần.",
    ]
    for step in steps:
        page.paragraph(step, bold if step == steps[0] else regular, 12)
        page.y -= 4
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
