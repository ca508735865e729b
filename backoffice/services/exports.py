"""The statistics as CSV and XLSX, laid out as provinces publish their one-stop reports.

The columns are those of the "tình hình, kết quả giải quyết thủ tục hành chính" tables
the provinces publish each month, quarter and year: dossiers to handle (carried over from
the previous period, newly received), resolved (early, on time, late), pending (within
time, overdue), then the requests to supplement, transfers and apology letters, and the
rates of Decision 766/QĐ-TTg (on time, digitized and signed result, satisfaction). The
XLSX numbers its columns and says how the totals are made, as the printed forms do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import datetime

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from backoffice.services.statistics import Figures, rate
from backoffice.services.statistics_report import LINE_OWN, LINE_TOTAL, OfficeLine, Report
from core.vntime import to_vn

__all__ = [
    "FIGURE_COLUMNS",
    "HEADER_ROWS",
    "csv_bytes",
    "figure_values",
    "office_label",
    "xlsx_bytes",
]

Getter = Callable[[Figures], int | float | None]


def _columns() -> list[tuple[str, str, str, Getter]]:
    """(group, column, how it is made, value) for each figure column, in the published order."""
    handle, done, pending = _("Số hồ sơ nhận giải quyết"), _("Đã giải quyết"), _("Đang giải quyết")
    return [
        (handle, _("Tổng số"), "(4)+(5)", lambda f: f.received),
        (handle, _("Kỳ trước chuyển qua"), "", lambda f: f.carried_over),
        (handle, _("Mới tiếp nhận"), "", lambda f: f.received_new),
        (done, _("Tổng số"), "(7)+(8)+(9)", lambda f: f.resolved),
        (done, _("Trước hạn"), "", lambda f: f.resolved_early),
        (done, _("Đúng hạn"), "", lambda f: f.resolved_on_time),
        (done, _("Quá hạn"), "", lambda f: f.resolved_late),
        (pending, _("Tổng số"), "(11)+(12)", lambda f: f.pending),
        (pending, _("Trong hạn"), "", lambda f: f.pending_in_time),
        (pending, _("Quá hạn"), "", lambda f: f.pending_overdue),
        ("", _("Yêu cầu bổ sung"), "", lambda f: f.supplement_requests),
        ("", _("Chuyển xử lý (liên thông)"), "", lambda f: f.transfers),
        ("", _("Văn bản xin lỗi"), "", lambda f: f.apologies),
        ("", _("Tỷ lệ đúng hạn (%)"), "((7)+(8))/((6)+(12))", lambda f: f.on_time_rate),
        ("", _("Tỷ lệ có kết quả số hóa, ký số (%)"), "", lambda f: f.digitized_rate),
        ("", _("Tỷ lệ hài lòng (%)"), "", lambda f: f.satisfaction_rate),
    ]


FIGURE_COLUMNS = 16
"""Figure columns after "STT" and the name."""


def figure_values(figures: Figures) -> list[int | float | None]:
    """The figure columns of one line, in order (rates as percentages)."""
    return [value(figures) for _group, _name, _how, value in _columns()]


def office_label(line: OfficeLine) -> str:
    """An office line's name: a parent's total and its own dossiers are told apart."""
    if line.kind == LINE_TOTAL:
        return _("%(office)s (tổng, gồm cấp dưới)") % {"office": line.name}
    if line.kind == LINE_OWN:
        return _("%(office)s (riêng cơ quan)") % {"office": line.name}
    return line.name


Row = tuple[str, int, bool, Figures]
"""A line of a figure table: name, indent, whether it is a total (bold), figures."""


def _sections(report: Report) -> list[tuple[str, list[Row]]]:
    """(title, rows) for the tables that share the figure columns."""
    return [
        (
            _("Theo cơ quan"),
            [
                (office_label(line), line.depth, line.kind == LINE_TOTAL, line.figures)
                for line in report.offices
            ],
        ),
        (_("Theo lĩnh vực"), [(line.label, 0, False, line.figures) for line in report.fields]),
        (
            _("Theo thủ tục"),
            [(line.label, 0, False, line.figures) for line in report.procedures],
        ),
    ]


def _heading(report: Report, now: datetime) -> list[str]:
    period = report.period
    return [
        _("TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"),
        _("%(scope)s — %(period)s (từ %(start)s đến %(end)s)")
        % {
            "scope": report.scope_name,
            "period": period.label,
            "start": f"{period.start:%d/%m/%Y}",
            "end": f"{period.last_day:%d/%m/%Y}",
        },
        _("Số liệu lập lúc %(moment)s") % {"moment": f"{to_vn(now):%d/%m/%Y %H:%M}"},
    ]


def csv_bytes(report: Report, now: datetime) -> bytes:
    """One table (UTF-8 with a byte-order mark, so spreadsheets read the marks): a row per
    office, field and procedure, the section in the first column; rates with a point."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = _columns()
    writer.writerow(
        [_("Bảng"), _("STT"), _("Tên"), *(f"{g} - {n}" if g else n for g, n, _h, _v in columns)]
    )
    for title, rows in _sections(report):
        for number, (name, _depth, _bold, figures) in enumerate(rows, start=1):
            values = ["" if v is None else v for v in figure_values(figures)]
            writer.writerow([title, number, name, *values])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="F2DCDB")
_WRAP = Alignment(wrap_text=True, vertical="center", horizontal="center")
_PERCENT = "0.00%"
HEADER_ROWS = 7
"""Rows above the data on each XLSX sheet: title, scope and period, time, blank, groups,
columns, column numbers."""


def _sheet_heading(sheet: Worksheet, lines: list[str], last_column: int) -> None:
    for row, text in enumerate(lines, start=1):
        sheet.cell(row=row, column=1, value=text).font = Font(
            bold=row == 1, size=13 if row == 1 else 11
        )
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_column)


def _header(sheet: Worksheet, first: list[str], groups: list[tuple[str, str, str]]) -> None:
    """Two header rows (groups merged over their columns, the rest over both rows) and a row
    of column numbers with how the totals are made."""
    top, below, numbers = HEADER_ROWS - 2, HEADER_ROWS - 1, HEADER_ROWS
    names = [("", name, "") for name in first] + groups
    column = 1
    while column <= len(names):
        group = names[column - 1][0]
        span = 1
        while group and column + span <= len(names) and names[column + span - 1][0] == group:
            span += 1
        if group:
            sheet.cell(row=top, column=column, value=group)
            sheet.merge_cells(
                start_row=top, start_column=column, end_row=top, end_column=column + span - 1
            )
            for offset in range(span):
                sheet.cell(row=below, column=column + offset, value=names[column + offset - 1][1])
        else:
            sheet.cell(row=top, column=column, value=names[column - 1][1])
            sheet.merge_cells(start_row=top, start_column=column, end_row=below, end_column=column)
        column += span
    for index, (_group, _name, how) in enumerate(names, start=1):
        sheet.cell(row=numbers, column=index, value=f"({index})" + (f" = {how}" if how else ""))
    for row in (top, below, numbers):
        for index in range(1, len(names) + 1):
            cell = sheet.cell(row=row, column=index)
            cell.font, cell.alignment, cell.fill = _BOLD, _WRAP, _HEAD_FILL
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 44
    for index in range(3, len(names) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 12
    sheet.freeze_panes = f"C{numbers + 1}"


def _data_row(
    sheet: Worksheet, row: int, values: Iterable[str | int | float | None], percent_from: int
) -> None:
    """Write a row; from column ``percent_from`` on, rates become Excel percentages."""
    for column, value in enumerate(values, start=1):
        if column >= percent_from and value is not None and not isinstance(value, str):
            cell = sheet.cell(row=row, column=column, value=value / 100)
            cell.number_format = _PERCENT
        else:
            sheet.cell(row=row, column=column, value=value)


def _figure_sheet(book: Workbook, title: str, rows: list[Row], heading: list[str]) -> None:
    sheet = book.create_sheet(title[:31])
    groups = [(g, n, h) for g, n, h, _v in _columns()]
    _sheet_heading(sheet, heading, 2 + len(groups))
    _header(sheet, [_("STT"), _("Tên")], groups)
    for number, (name, depth, bold, figures) in enumerate(rows, start=1):
        row = HEADER_ROWS + number
        _data_row(sheet, row, [number, name, *figure_values(figures)], percent_from=16)
        sheet.cell(row=row, column=2).alignment = Alignment(indent=depth, wrap_text=True)
        if bold:
            for column in range(1, 3 + FIGURE_COLUMNS):
                sheet.cell(row=row, column=column).font = _BOLD


def xlsx_bytes(report: Report, now: datetime) -> bytes:
    """A workbook: by office (rolled up), field, procedure, official and month."""
    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    heading = _heading(report, now)
    for title, rows in _sections(report):
        _figure_sheet(book, title, rows, heading)
    officials = book.create_sheet(_("Theo cán bộ"))
    official_columns = [
        ("", _("Lượt phê duyệt"), ""),
        ("", _("Lượt từ chối"), ""),
        ("", _("Lượt ký số"), ""),
        ("", _("Số hồ sơ đã xử lý"), ""),
        (_("Hồ sơ đã giải quyết"), _("Trước hạn"), ""),
        (_("Hồ sơ đã giải quyết"), _("Đúng hạn"), ""),
        (_("Hồ sơ đã giải quyết"), _("Quá hạn"), ""),
        (_("Hồ sơ đang giải quyết"), _("Trong hạn"), ""),
        (_("Hồ sơ đang giải quyết"), _("Quá hạn"), ""),
        ("", _("Tỷ lệ đúng hạn (%)"), ""),
    ]
    _sheet_heading(officials, heading, 2 + len(official_columns))
    _header(officials, [_("STT"), _("Cán bộ")], official_columns)
    for number, person in enumerate(report.officials or [], start=1):
        values: list[str | int | float | None] = [
            number,
            person.name,
            person.approved,
            person.rejected,
            person.signed,
            person.dossiers,
            person.resolved_early,
            person.resolved_on_time,
            person.resolved_late,
            person.pending_in_time,
            person.pending_overdue,
            person.on_time_rate,
        ]
        _data_row(officials, HEADER_ROWS + number, values, percent_from=12)
    months = book.create_sheet(_("Theo tháng"))
    month_columns = [
        ("", _("Đã giải quyết"), ""),
        ("", _("Trong đó trước hạn, đúng hạn"), ""),
        ("", _("Đang giải quyết quá hạn cuối tháng"), ""),
        ("", _("Tỷ lệ đúng hạn (%)"), "(4)/((3)+(5))"),
    ]
    _sheet_heading(months, heading, 2 + len(month_columns))
    _header(months, [_("STT"), _("Tháng")], month_columns)
    for number, point in enumerate(report.months, start=1):
        month_values: list[str | int | float | None] = [
            number,
            point.period.label,
            point.resolved,
            point.in_time,
            point.pending_overdue,
            rate(point.in_time, point.resolved + point.pending_overdue),
        ]
        _data_row(months, HEADER_ROWS + number, month_values, percent_from=6)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
