"""One-stop letters (forms 02–05), the control slip (06) and the PDF/A layout form 07 shares."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from core.pdfa.furnish import PdfaInfo, furnish_pdfa
from core.vntime import VN_TZ
from dossiers.receipt import _FONT_DIR, _fit, _font, _nfc, _Page, _wrap

__all__ = ["LetterData", "SlipData", "SlipRow", "render_letter", "render_slip"]

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
SUBMOTTO = "Độc lập - Tự do - Hạnh phúc"
REGULAR = _FONT_DIR / "LiberationSerif-Regular.ttf"
BOLD = _FONT_DIR / "LiberationSerif-Bold.ttf"
ITALIC = _FONT_DIR / "LiberationSerif-Italic.ttf"


@dataclass(frozen=True)
class LetterData:
    """What a letter shows, laid out as Decree 30/2020 says an administrative letter is."""

    office_name: str
    """The issuing office (cơ quan), upper-cased in the header."""

    number: str
    """The letter's number and mark (``07/XL``); blank leaves a place to write it."""

    dated: datetime
    """The day the letter bears; aware."""

    title: str
    """The form's title (``VĂN BẢN XIN LỖI …``)."""

    addressee: str
    """Whom it is to (``Ông/Bà Trần Thị Bình``)."""

    paragraphs: Sequence[str]
    """The content, one paragraph per item."""

    recipients: Sequence[str]
    """Nơi nhận, one per item."""

    signer_title: str
    """The signer's position (``CHỦ TỊCH``); the signature goes below it."""

    signer_name: str = ""
    """The signer's name, printed under the signature space when known."""

    form_number: str = ""
    """``Mẫu số 04``, printed at the top right; blank for none."""

    parent_name: str = ""
    """The office above the issuing one, printed above it, when there is one."""

    dossier_code: str = ""
    """Kept in the PDF's keywords, so a letter is found by its dossier."""


@dataclass(frozen=True)
class SlipRow:
    """One hand-off on the process-control slip."""

    step: str
    office: str
    holder: str
    started_at: datetime
    ended_at: datetime | None
    due_at: datetime | None
    outcome: str
    """``Trước hạn``, ``Đúng hạn``, ``Trễ hạn`` or blank while the step runs."""

    note: str = ""


@dataclass(frozen=True)
class SlipData:
    """What the process-control slip of one dossier shows."""

    office_name: str
    dossier_code: str
    applicant_name: str
    procedure_name: str
    received_at: datetime
    due_at: datetime
    rows: Sequence[SlipRow]
    form_number: str
    title: str
    printed_at: datetime


class _WidePage(_Page):
    """A cursor over one landscape A4 page, for a table too wide to stand upright."""

    left: float = 15 * mm
    right: float = landscape(A4)[0] - 15 * mm
    top: float = landscape(A4)[1] - 15 * mm


def _canvas(buffer: io.BytesIO, title: str, *, wide: bool = False) -> tuple[Canvas, _Page, str]:
    """A canvas on A4 (landscape when ``wide``) with the Liberation fonts, and its cursor."""
    regular = _font(REGULAR)
    canvas = Canvas(
        buffer,
        pagesize=landscape(A4) if wide else A4,
        invariant=True,
        pageCompression=1,
        initialFontName=regular,
    )
    canvas.setTitle(title)
    canvas.setCreator("motcua")
    page = (_WidePage if wide else _Page)(canvas, regular, _font(BOLD), _font(ITALIC))
    return canvas, page, regular


def _day_line(moment: datetime) -> str:
    local = moment.astimezone(VN_TZ)
    return f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def _header(
    page: _Page, office: str, parent: str, number: str | None, dated: datetime, form: str
) -> None:
    """The office and number on the left (no "Số:" line when ``number`` is None), the national
    motto and the date on the right."""
    canvas = page.canvas
    if form:
        canvas.setFont(page.mono, 10)  # the italic face (_Page calls it mono)
        canvas.drawRightString(page.right, page.top + 8 * mm, form)
    left_centre = page.left + page.width * 0.2
    right_centre = page.left + page.width * 0.7
    page.centred(
        MOTTO, page.bold, _fit(MOTTO, page.bold, 12, page.width * 0.58), right_centre, page.y
    )
    page.centred(SUBMOTTO, page.bold, 13, right_centre, page.y - 16, underline=True)
    office_y = page.y
    if parent:
        for line in _wrap(_nfc(parent).upper(), page.regular, 11, page.width * 0.4):
            page.centred(line, page.regular, 11, left_centre, office_y)
            office_y -= 13.5
    for line in _wrap(_nfc(office).upper(), page.bold, 11, page.width * 0.4):
        page.centred(line, page.bold, 11, left_centre, office_y)
        office_y -= 13.5
    canvas.setLineWidth(0.6)
    canvas.line(left_centre - 25, office_y + 6, left_centre + 25, office_y + 6)
    if number is not None:
        page.centred(f"Số: {_nfc(number) or '……'}", page.regular, 12, left_centre, office_y - 10)
    canvas.setFont(page.mono, 12)
    canvas.drawCentredString(right_centre, page.y - 44, _day_line(dated).capitalize())
    page.y = min(office_y - 10, page.y - 44) - 36


def render_letter(data: LetterData) -> bytes:
    """Return the letter as a PDF/A-2b page (or pages) with its fonts embedded."""
    buffer = io.BytesIO()
    canvas, page, _ = _canvas(buffer, _nfc(data.title))
    _header(page, data.office_name, data.parent_name, data.number, data.dated, data.form_number)
    centre = page.left + page.width / 2
    for line in _wrap(_nfc(data.title), page.bold, 14, page.width * 0.9):
        page.centred(line, page.bold, 14, centre, page.y)
        page.y -= 19
    page.y -= 10
    page.centred(f"Kính gửi: {_nfc(data.addressee)}", page.regular, 13, centre, page.y)
    page.y -= 28
    for paragraph in data.paragraphs:
        lines = _wrap(_nfc(paragraph), page.regular, 13, page.width - 10 * mm)
        for index, line in enumerate(lines):
            if page.y < 40 * mm:
                canvas.showPage()
                page.y = page.top
            indent = 10 * mm if index == 0 else 0
            canvas.setFont(page.regular, 13)
            canvas.drawString(page.left + indent, page.y, line)
            page.y -= 13 * 1.45
        page.y -= 5
    if page.y < 75 * mm:
        canvas.showPage()
        page.y = page.top
    page.y -= 16
    top = page.y
    canvas.setFont(page.mono, 12)
    canvas.drawString(page.left, page.y, "Nơi nhận:")
    canvas.setFont(page.regular, 11)
    for recipient in data.recipients:
        page.y -= 14
        canvas.drawString(page.left, page.y, f"- {_nfc(recipient)}")
    sign_centre = page.left + page.width * 0.72
    y = top
    for line in _wrap(_nfc(data.signer_title).upper(), page.bold, 13, page.width * 0.45):
        page.centred(line, page.bold, 13, sign_centre, y)
        y -= 16
    if data.signer_name:
        page.centred(_nfc(data.signer_name), page.bold, 13, sign_centre, y - 70)
    canvas.showPage()
    canvas.save()
    info = PdfaInfo(
        title=_nfc(data.title),
        author=_nfc(data.office_name),
        subject=_nfc(data.addressee),
        keywords=_nfc(data.dossier_code),
        created_at=data.dated,
    )
    return furnish_pdfa(buffer.getvalue(), info)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if moment else ""


_COLUMNS = (
    ("Bước", 0.17),
    ("Cơ quan, người xử lý", 0.25),
    ("Nhận lúc", 0.13),
    ("Chuyển lúc", 0.13),
    ("Hạn", 0.13),
    ("Kết quả", 0.19),
)


def render_slip(data: SlipData) -> bytes:
    """Return the process-control slip: the dossier, then one row per hand-off with its
    times, its due moment and whether it was early, on time or late."""
    buffer = io.BytesIO()
    canvas, page, _ = _canvas(buffer, f"{data.title} {data.dossier_code}")
    _header(page, data.office_name, "", "", data.printed_at, data.form_number)
    centre = page.left + page.width / 2
    page.centred(data.title, page.bold, _fit(data.title, page.bold, 14, page.width), centre, page.y)
    page.y -= 26
    for label, value in (
        ("Mã hồ sơ:", data.dossier_code),
        ("Người nộp:", data.applicant_name),
        ("Thủ tục:", data.procedure_name),
        ("Tiếp nhận lúc:", _local(data.received_at)),
        ("Hẹn trả kết quả:", _local(data.due_at)),
    ):
        page.field(label, _nfc(value), width=page.width)
    page.y -= 8
    widths = [page.width * share for _, share in _COLUMNS]
    heading = ([title for title, _ in _COLUMNS], page.bold)
    _table(page, widths, [heading], (_slip_cells(item) for item in data.rows))
    if not data.rows:
        canvas.setFont(page.regular, 11)
        canvas.drawString(page.left, page.y - 14, "Chưa có bước xử lý nào được ghi nhận.")
    canvas.showPage()
    canvas.save()
    info = PdfaInfo(
        title=f"{data.title} {_nfc(data.dossier_code)}",
        author=_nfc(data.office_name),
        keywords=_nfc(data.dossier_code),
        created_at=data.printed_at,
    )
    return furnish_pdfa(buffer.getvalue(), info)


def _table(
    page: _Page,
    widths: Sequence[float],
    headings: Sequence[tuple[Sequence[str], str]],
    rows: Iterable[Sequence[str]],
    *,
    size: float = 9.5,
) -> None:
    """Ruled rows of wrapped cells downwards from the cursor; the ``headings`` (cells and
    font) open the table and again every page it runs onto."""
    canvas = page.canvas

    def row(cells: Sequence[str], font: str, *, again: bool = True) -> None:
        wrapped = [
            _wrap(_nfc(text), font, size, w - 4) for text, w in zip(cells, widths, strict=True)
        ]
        height = max(len(lines) for lines in wrapped) * size * 1.3 + 6
        if page.y - height < 20 * mm:
            canvas.showPage()
            page.y = page.top
            if again:
                for head_cells, head_font in headings:
                    row(head_cells, head_font, again=False)
        x = page.left
        canvas.setLineWidth(0.5)
        for lines, width in zip(wrapped, widths, strict=True):
            canvas.rect(x, page.y - height, width, height, stroke=1, fill=0)
            canvas.setFont(font, size)
            for number, line in enumerate(lines):
                canvas.drawString(x + 2, page.y - 3 - size - number * size * 1.3, line)
            x += width
        page.y -= height

    for cells, font in headings:
        row(cells, font, again=False)
    for cells in rows:
        row(cells, page.regular)


def _slip_cells(item: SlipRow) -> list[str]:
    holder = f"{item.office}{f' — {item.holder}' if item.holder else ''}"
    outcome = item.outcome + (f" ({item.note})" if item.note else "")
    return [
        item.step,
        holder,
        _local(item.started_at),
        _local(item.ended_at),
        _local(item.due_at),
        outcome,
    ]
