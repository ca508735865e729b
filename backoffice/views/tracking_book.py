"""An office's tracking book at /so-theo-doi/: on screen, as XLSX and PDF, for clerks and heads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from audit.services.record import Action, record
from backoffice.views.headers import private, private_file
from core.vntime import to_vn
from dossiers.models import Office
from dossiers.services.access import role_required
from dossiers.services.tracking_book import BOOK_ROLES, book_offices, check_days, tracking_book
from dossiers.tracking_book import BookData, book_xlsx, render_book_pdf

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class BookForm(forms.Form):
    co_quan = forms.IntegerField(label=_("Cơ quan"), widget=forms.Select)
    tu_ngay = forms.DateField(label=_("Từ ngày"), widget=forms.DateInput(attrs={"type": "date"}))
    den_ngay = forms.DateField(label=_("Đến ngày"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, offices: list[Office], today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        # any number is taken: an office outside the person's is not found (404), as elsewhere
        fields["co_quan"].widget.choices = [(office.pk, office.name) for office in offices]
        self.initial = {
            "co_quan": offices[0].pk if offices else None,
            "tu_ngay": today.replace(day=1),
            "den_ngay": today,
        }

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        first, last = data.get("tu_ngay"), data.get("den_ngay")
        if first is not None and last is not None:
            try:
                check_days(first, last)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data

    def choice(self) -> tuple[int | None, date, date] | None:
        """The office and days asked for (the person's first office, if any, and this month
        when nothing was asked), or None when the form has errors."""
        if not self.is_bound:
            return self.initial["co_quan"], self.initial["tu_ngay"], self.initial["den_ngay"]
        if not self.is_valid():
            return None
        data: dict[str, Any] = self.cleaned_data
        return data["co_quan"], data["tu_ngay"], data["den_ngay"]


@dataclass(frozen=True)
class Asked:
    form: BookForm
    book: BookData | None


def _asked(request: HttpRequest) -> Asked:
    """The form and, when it is valid, the book it asks for; 404 for another office."""
    now = timezone.now()
    offices = list(book_offices(request.user))
    form = BookForm(request.GET or None, offices=offices, today=to_vn(now).date())
    choice = form.choice()
    if choice is None:
        return Asked(form, None)
    office_id, first, last = choice
    if office_id is None:
        return Asked(form, None)
    try:
        book = tracking_book(request.user, office_id, first, last, now=now)
    except LookupError:
        raise Http404("Không có cơ quan này trong phạm vi của bạn.") from None
    return Asked(form, book)


def _page(request: HttpRequest, asked: Asked, *, status: int = 200) -> HttpResponse:
    query = request.GET.urlencode()
    response = render(
        request,
        "backoffice/tracking_book.html",
        {"form": asked.form, "book": asked.book, "query": f"?{query}" if query else ""},
        status=status,
    )
    private(response)
    return response


@role_required(*BOOK_ROLES)
@require_GET
def book_page(request: HttpRequest) -> HttpResponse:
    """The book of the chosen office and days, with its XLSX and PDF downloads."""
    return _page(request, _asked(request))


def _download(request: HttpRequest, kind: str) -> HttpResponse:
    """The book as a file; a form with errors gets the page and its messages (400)."""
    asked = _asked(request)
    book = asked.book
    if book is None:
        return _page(request, asked, status=400)
    disposition: Literal["attachment", "inline"]
    if kind == "xlsx":
        body, content_type, disposition = book_xlsx(book), XLSX, "attachment"
    else:
        body, content_type, disposition = render_book_pdf(book), "application/pdf", "inline"
    record(
        Action.EXPORTED,
        request=request,
        office=book.office_id,
        detail={
            "book": kind,
            "from": book.first_day.isoformat(),
            "to": book.last_day.isoformat(),
            "count": len(book.rows),
        },
    )
    name = f"so-theo-doi-{book.first_day:%Y%m%d}-{book.last_day:%Y%m%d}.{kind}"
    return private_file(body, content_type, name, disposition)


@role_required(*BOOK_ROLES)
@require_GET
def book_xlsx_download(request: HttpRequest) -> HttpResponse:
    """The book as an XLSX workbook."""
    return _download(request, "xlsx")


@role_required(*BOOK_ROLES)
@require_GET
def book_pdf_download(request: HttpRequest) -> HttpResponse:
    """The book as a landscape PDF/A to print."""
    return _download(request, "pdf")
