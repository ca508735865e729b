"""The statistics page at /thong-ke/ and its CSV and XLSX exports, for heads and administrators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from backoffice.services.charts import field_chart, month_chart, tone
from backoffice.services.exports import csv_bytes, xlsx_bytes
from backoffice.services.people import STATISTICS_ROLES
from backoffice.services.periods import QUARTER_NAMES, Period, parse_period
from backoffice.services.statistics_report import (
    OfficeTree,
    Report,
    build_report,
    office_tree,
    overdue_rows,
)
from backoffice.views.headers import private, private_file
from core.vntime import to_vn
from dossiers.services.access import role_required

YEARS = 6
"""Years offered in the form: this one and the five before."""


def clock() -> datetime:
    """The time the figures are counted at (tests set it)."""
    return timezone.now()


def _period_choices() -> list[tuple[str, Any]]:
    return [
        ("", _("Cả năm")),
        *((f"q{n}", _("Quý %(n)s") % {"n": QUARTER_NAMES[n - 1]}) for n in range(1, 5)),
        *((f"t{n}", _("Tháng %(n)s") % {"n": n}) for n in range(1, 13)),
    ]


class StatisticsForm(forms.Form):
    nam = forms.TypedChoiceField(label=_("Năm"), coerce=int, required=False)
    ky = forms.ChoiceField(label=_("Kỳ"), required=False)
    co_quan = forms.IntegerField(label=_("Cơ quan"), required=False, widget=forms.Select)

    def __init__(self, *args: Any, tree: OfficeTree, today_year: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today_year = today_year
        fields: dict[str, Any] = self.fields
        fields["nam"].choices = [
            (year, str(year)) for year in range(today_year, today_year - YEARS, -1)
        ]
        fields["ky"].choices = _period_choices()
        offices: list[tuple[str | int, str]] = [("", str(_("Tất cả cơ quan của bạn")))]
        for top in tree.roots:
            offices.extend(_indented(tree, top, 0))
        fields["co_quan"].widget.choices = offices
        self.many_offices = len(tree.names) > 1

    def choice(self) -> tuple[Period, int | None]:
        """The period and office asked for; a field not valid counts as not given (this
        year, every office of the person)."""
        data: dict[str, Any] = {}
        if self.is_bound:
            self.is_valid()
            data = self.cleaned_data
        year = data.get("nam") or self.today_year
        return parse_period(year, data.get("ky") or ""), data.get("co_quan")


def _indented(tree: OfficeTree, office_id: int, depth: int) -> list[tuple[str | int, str]]:
    found: list[tuple[str | int, str]] = [(office_id, "\u2003" * depth + tree.names[office_id])]
    for child in tree.children.get(office_id, []):
        found.extend(_indented(tree, child, depth + 1))
    return found


@dataclass(frozen=True)
class Asked:
    form: StatisticsForm
    period: Period
    office_id: int | None
    tree: OfficeTree
    now: datetime


def _asked(request: HttpRequest) -> Asked:
    now = clock()
    tree = office_tree(request.user)
    form = StatisticsForm(request.GET or None, tree=tree, today_year=to_vn(now).year)
    period, office_id = form.choice()
    return Asked(form, period, office_id, tree, now)


def _report(request: HttpRequest, asked: Asked, *, exported: bool = False) -> Report:
    """The report asked for; an export counts per official whatever the number of offices."""
    try:
        return build_report(
            request.user,
            asked.period,
            asked.now,
            asked.office_id,
            asked.tree,
            with_officials=True if exported else None,
        )
    except LookupError:
        raise Http404("Không có cơ quan này trong phạm vi của bạn.") from None


@role_required(*STATISTICS_ROLES)
@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    """The figures of the period for the person's offices: overdue dossiers first, then the
    key figures, the on-time rate by month and by field, and the tables."""
    asked = _asked(request)
    report = _report(request, asked)
    overdue, overdue_count = overdue_rows(request.user, asked.now, asked.office_id, tree=asked.tree)
    query = request.GET.urlencode()
    response = render(
        request,
        "backoffice/statistics.html",
        {
            "form": asked.form,
            "report": report,
            "overdue": overdue,
            "overdue_count": overdue_count,
            "month_chart": month_chart(report.months, report.period),
            "field_chart": field_chart(report.fields),
            "total_tone": tone(report.total.on_time_rate),
            "query": f"?{query}" if query else "",
        },
    )
    private(response)
    return response


@role_required(*STATISTICS_ROLES)
@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    """The period's table by office, field and procedure as CSV."""
    asked = _asked(request)
    report = _report(request, asked, exported=True)
    return private_file(
        csv_bytes(report, asked.now),
        "text/csv; charset=utf-8",
        f"thong-ke-{report.period.slug}.csv",
    )


@role_required(*STATISTICS_ROLES)
@require_GET
def export_xlsx(request: HttpRequest) -> HttpResponse:
    """The period's workbook: by office, field, procedure, official and month."""
    asked = _asked(request)
    report = _report(request, asked, exported=True)
    return private_file(
        xlsx_bytes(report, asked.now),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"thong-ke-{report.period.slug}.xlsx",
    )
