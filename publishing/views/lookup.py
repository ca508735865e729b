"""The public lookup: a dossier's status and its signed result, for the holder of its secret."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django import forms
from django.core.cache import cache
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from dossiers.models import Document, DocumentState, Dossier
from dossiers.services.registry import normalise_secret

LOOKUP_LIMIT = 20
LOOKUP_WINDOW_S = 600


class LookupForm(forms.Form):
    code = forms.CharField(label="Mã hồ sơ", max_length=64)
    secret = forms.CharField(
        label="Mã tra cứu", max_length=64, widget=forms.PasswordInput(render_value=True)
    )


def _client_key(request: HttpRequest) -> str:
    ip = request.META.get("REMOTE_ADDR", "")
    return "lookup-fail:" + hashlib.sha256(ip.encode()).hexdigest()[:16]


def _find(request: HttpRequest, form: LookupForm) -> tuple[Dossier | None, str]:
    if cache.get(_client_key(request), 0) >= LOOKUP_LIMIT:
        return None, "Bạn đã thử sai quá nhiều lần. Vui lòng thử lại sau 10 phút."
    code = form.cleaned_data["code"].strip()
    secret = normalise_secret(form.cleaned_data["secret"])
    dossier = Dossier.objects.select_related("office", "procedure").filter(code=code).first()
    if dossier is None or not dossier.check_secret(secret):
        try:
            cache.incr(_client_key(request))
        except ValueError:
            cache.set(_client_key(request), 1, LOOKUP_WINDOW_S)
        return None, "Mã hồ sơ hoặc mã tra cứu không đúng."
    return dossier, ""


def _result_document(dossier: Dossier) -> Document | None:
    return (
        dossier.documents.filter(state__in=[DocumentState.PUBLISHED, DocumentState.DELIVERED])
        .order_by("-pk")
        .first()
    )


@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    """Public: the dossier's status, and its signed result, given the code and the secret."""
    form = LookupForm(request.POST or None)
    context: dict[str, object] = {"form": form}
    status = 200
    if request.method == "POST" and form.is_valid():
        dossier, error = _find(request, form)
        if dossier is None:
            context["error"] = error
            status = 403
        else:
            context.update(dossier=dossier, result=_result_document(dossier))
    return render(request, "publishing/lookup.html", context, status=status)


@require_http_methods(["POST"])
def download(request: HttpRequest) -> HttpResponse | FileResponse:
    """Public: the signed result as a file, for the holder of the code and the secret."""
    form = LookupForm(request.POST)
    if not form.is_valid():
        return render(request, "publishing/lookup.html", {"form": form}, status=400)
    dossier, error = _find(request, form)
    result = _result_document(dossier) if dossier else None
    if dossier is None or result is None:
        return render(
            request,
            "publishing/lookup.html",
            {"form": form, "error": error or "Hồ sơ chưa có kết quả."},
            status=403 if dossier is None else 404,
        )
    response = FileResponse(
        Path(result.signed_path).open("rb"),  # noqa: SIM115 (the response closes it)
        as_attachment=True,
        filename=f"ket-qua-{dossier.code}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "no-store"
    return response
