"""The tracking book (sổ theo dõi hồ sơ, form 07) as a landscape PDF/A-2b and an XLSX workbook."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from core.pdfa.furnish import PdfaInfo, furnish_pdfa
from core.vntime import VN_TZ
from dossiers.forms_text import BOOK_COLUMNS, BOOK_TITLE
from dossiers.letters import _canvas, _header, _table
from dossiers.receipt import _fit, _nfc

__all__ = ["BookData", "BookRow", "book_cells", "book_xlsx", "render_book_pdf"]


@dataclass(frozen=True)
class BookRow:
    """One dossier's line in the book."""

    code: str
    procedure: str
    applicant: str
    contact: str
    """Địa chỉ, số điện thoại: what the desk knows of how to reach the applicant."""

    lead_office: str
    """Cơ quan chủ trì giải quyết."""

    received_at: datetime
    due_at: datetime
    sent_at: datetime | None
    """When the desk handed the dossier to the office that resolves it."""

    result_at: datetime | None
    """When the result was ready, or the dossier came back to be given back (refused,
    stopped, withdrawn)."""

    returned_at: datetime | None
    """When the result (or the papers) went back to the citizen."""

    note: str
    sets: int = 1
    """Số lượng hồ sơ (bộ): one set per dossier code."""


@dataclass(frozen=True)
class BookData:
    """The book of one office over whole days, as printed at one moment."""

    office_id: int
    office_name: str
    parent_name: str
    first_day: date
    last_day: date
    rows: Sequence[BookRow]
    truncated: bool
    """More dossiers were received in the period than the book holds at once."""

    form_number: str
    printed_at: datetime

    @property
    def period_line(self) -> str:
        return f"Từ ngày {self.first_day:%d/%m/%Y} đến ngày {self.last_day:%d/%m/%Y}"

    @property
    def truncated_line(self) -> str:
        return (
            f"Sổ chỉ ghi {len(self.rows)} hồ sơ tiếp nhận đầu tiên của khoảng thời gian này; "
            "hãy chọn khoảng thời gian ngắn hơn để có đủ hồ sơ."
        )


def _when(moment: datetime | None) -> str:
    return moment.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if moment else ""


def book_cells(number: int, row: BookRow) -> list[str]:
    """The row's fourteen cells as text, in the order of :data:`BOOK_COLUMNS`."""
    return [
        str(number),
        row.code,
        row.procedure,
        str(row.sets),
        row.applicant,
        row.contact,
        row.lead_office,
        _when(row.received_at),
        _when(row.due_at),
        _when(row.sent_at),
        _when(row.result_at),
        _when(row.returned_at),
        "",
        row.note,
    ]


_SHARES = (0.03, 0.135, 0.115, 0.04, 0.09, 0.08, 0.09, 0.06, 0.06, 0.06, 0.06, 0.06, 0.045)
"""Each column's share of the page width; the note takes what is left."""


def render_book_pdf(data: BookData) -> bytes:
    """The book on landscape A4 pages, the column heading again on each page."""
    buffer = io.BytesIO()
    canvas, page, _ = _canvas(buffer, f"{BOOK_TITLE} {_nfc(data.office_name)}", wide=True)
    _header(page, data.office_name, data.parent_name, None, data.printed_at, data.form_number)
    centre = page.left + page.width / 2
    page.y += 12
    page.centred(BOOK_TITLE, page.bold, _fit(BOOK_TITLE, page.bold, 14, page.width), centre, page.y)
    page.y -= 17
    page.centred(data.period_line, page.mono, 12, centre, page.y)
    page.y -= 16
    widths = [page.width * share for share in _SHARES]
    widths.append(page.width - sum(widths))
    headings = [
        (list(BOOK_COLUMNS), page.bold),
        ([f"({n})" for n in range(1, len(BOOK_COLUMNS) + 1)], page.mono),
    ]
    cells = (book_cells(number, row) for number, row in enumerate(data.rows, start=1))
    _table(page, widths, headings, cells, size=8)
    canvas.setFont(page.mono, 10)
    if not data.rows:
        canvas.drawString(
            page.left, page.y - 14, "Không có hồ sơ nào tiếp nhận trong thời gian này."
        )
    elif data.truncated:
        canvas.drawString(page.left, page.y - 14, data.truncated_line)
    canvas.showPage()
    canvas.save()
    info = PdfaInfo(
        title=f"{BOOK_TITLE} — {_nfc(data.office_name)}",
        author=_nfc(data.office_name),
        subject=data.period_line,
        created_at=data.printed_at,
    )
    return furnish_pdfa(buffer.getvalue(), info)


_DATE_COLUMNS = range(8, 13)
"""Columns (1-based) that hold moments: written as Excel dates, not text."""

_WIDTHS = (6, 26, 36, 9, 24, 20, 24, 16, 16, 16, 16, 16, 12, 30)
HEADER_ROWS = 6
"""Rows above the data: office, title, period, printed at, heading, column numbers."""


def _excel_moment(moment: datetime | None) -> datetime | None:
    """Vietnam wall time without a zone (Excel has none)."""
    return moment.astimezone(VN_TZ).replace(tzinfo=None) if moment else None


def book_xlsx(data: BookData) -> bytes:
    """One sheet: the heading lines, the numbered columns, one row per dossier."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its first sheet
    sheet.title = "Sổ theo dõi hồ sơ"
    last = len(BOOK_COLUMNS)
    office = data.office_name.upper()
    lines = [
        f"{data.parent_name.upper()} — {office}" if data.parent_name else office,
        BOOK_TITLE,
        data.period_line,
        f"Lập lúc {_when(data.printed_at)}",
    ]
    for number, text in enumerate(lines, start=1):
        cell = sheet.cell(row=number, column=1, value=text)
        cell.font = Font(bold=number <= 2, size=13 if number == 2 else 11)
        sheet.merge_cells(start_row=number, start_column=1, end_row=number, end_column=last - 1)
    sheet.cell(row=1, column=last, value=data.form_number).font = Font(italic=True)
    wrap = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for column, (title, width) in enumerate(zip(BOOK_COLUMNS, _WIDTHS, strict=True), start=1):
        heading = sheet.cell(row=HEADER_ROWS - 1, column=column, value=title)
        heading.font, heading.alignment = Font(bold=True), wrap
        numbered = sheet.cell(row=HEADER_ROWS, column=column, value=f"({column})")
        numbered.font, numbered.alignment = Font(italic=True), wrap
        sheet.column_dimensions[get_column_letter(column)].width = width
    for number, row in enumerate(data.rows, start=1):
        values: list[str | int | datetime | None] = [
            number,
            row.code,
            row.procedure,
            row.sets,
            row.applicant,
            row.contact,
            row.lead_office,
            _excel_moment(row.received_at),
            _excel_moment(row.due_at),
            _excel_moment(row.sent_at),
            _excel_moment(row.result_at),
            _excel_moment(row.returned_at),
            None,
            row.note,
        ]
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=HEADER_ROWS + number, column=column, value=value)
            if column in _DATE_COLUMNS:
                cell.number_format = "dd/mm/yyyy hh:mm"
    if data.truncated:
        sheet.cell(row=HEADER_ROWS + len(data.rows) + 2, column=1, value=data.truncated_line)
    sheet.freeze_panes = f"C{HEADER_ROWS + 1}"
    sheet.print_options.gridLines = True
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.print_title_rows = f"{HEADER_ROWS - 1}:{HEADER_ROWS}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
