"""Importing dossiers in the browser: a CSV or JSON file, then a report of each row."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from dossiers.errors import RegistrationError
from dossiers.models import Role
from dossiers.services.access import role_required
from dossiers.services.imports import MAX_BYTES, MAX_ROWS, import_as, read_upload
from dossiers.services.receipts import keep as keep_receipts
from dossiers.services.receipts import recall
from dossiers.services.registry import CSV_COLUMNS
from dossiers.views.common import private, session_key


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Tệp hồ sơ (.csv hoặc .json)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.json"}),
    )


def _page(
    request: HttpRequest, form: UploadForm, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "error": error,
        "columns": ",".join(CSV_COLUMNS),
        "max_rows": MAX_ROWS,
        "max_kb": MAX_BYTES // 1024,
    }
    page = render(request, "dossiers/import.html", context, status=status)
    return private(page, referrer="same-origin")


@role_required(Role.CLERK)
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponseBase:
    """Register the rows of an uploaded file in the clerk's offices, then show the report."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method != "POST" or not form.is_valid():
        return _page(request, form, status=400 if request.method == "POST" else 200)
    uploaded = form.cleaned_data["file"]
    try:
        if uploaded.size is not None and uploaded.size > MAX_BYTES:
            raise RegistrationError(
                f"Tệp lớn hơn {MAX_BYTES // 1024} KB; hãy chia thành nhiều tệp nhỏ hơn."
            )
        rows, first_line = read_upload(str(uploaded.name), uploaded.read(MAX_BYTES + 1))
    except RegistrationError as exc:
        return _page(request, UploadForm(), error=exc.message_vi, status=400)
    report = import_as(request.user, rows, first_line=first_line)
    token = keep_receipts(
        session_key(request), report.registered, kind="imported", report=report.rows()
    )
    return redirect("import-report", token=token)


@role_required(Role.CLERK)
@require_GET
def report(request: HttpRequest, token: str) -> HttpResponse:
    """What was imported (with its receipts to print) and what was refused, and why."""
    kept = recall(token, session_key(request))
    if kept is None or kept.kind != "imported":
        return private(render(request, "dossiers/receipt_gone.html", status=410))
    rows = [
        {**row, "receipt_url": reverse("receipt-pdf", args=[token, row["dossier_id"]])}
        if row["ok"]
        else row
        for row in kept.report
    ]
    context = {
        "rows": rows,
        "registered": sum(1 for row in rows if row["ok"]),
        "refused": sum(1 for row in rows if not row["ok"]),
    }
    return private(render(request, "dossiers/import_report.html", context))
