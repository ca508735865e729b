"""The public verification pages: a citizen's PDF, or the document a stamp's QR code names."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from publishing.services.verification import (
    Verification,
    admission,
    document_for_code,
    is_signed,
    verify_document,
    verify_upload,
)


class VerifyForm(forms.Form):
    pdf = forms.FileField(label=_("Tệp PDF cần kiểm tra"))


@csrf_exempt  # checked in _check_upload, once admitted: a busy answer never parses the upload
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Public: check a PDF's signatures and whether this system issued it unchanged.

    A client over its allowance, or a server with every slot taken, is answered at
    once, before the upload is parsed (the CSRF check too would parse it).
    """
    if request.method != "POST":
        return _page(request, {})
    with admission(request) as refusal:
        if refusal is not None:
            return _page(request, _shown(refusal), refusal.status)
        return _check_upload(request)


@csrf_protect
def _check_upload(request: HttpRequest) -> HttpResponse:
    form = VerifyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, {"form": form})
    upload = form.cleaned_data["pdf"]
    if upload.size > settings.VERIFY_MAX_BYTES:
        return _page(request, {"error": _("Tệp quá lớn để kiểm tra.")}, 413)
    result = verify_upload(upload.read())
    return _page(request, _shown(result), result.status)


def _page(request: HttpRequest, context: dict[str, object], status: int = 200) -> HttpResponse:
    context = {
        "form": VerifyForm(),
        "max_mb": settings.VERIFY_MAX_BYTES // (1024 * 1024),
        **context,
    }
    return render(request, "publishing/verify.html", context, status=status)


@require_GET
def verify_code(request: HttpRequest, code: str) -> HttpResponse:
    """Public: the verification of the document whose stamp's QR code carries ``code``.

    Shows the office, procedure, dossier code, signers and times, never the applicant.
    """
    document = document_for_code(code)
    if document is None:
        return render(request, "publishing/verify_code.html", {"unknown": True}, status=404)
    if not is_signed(document):
        return render(request, "publishing/verify_code.html", {"unsigned_yet": True})
    with admission(request) as refusal:
        result = refusal or verify_document(document)
    context = {**_shown(result), "dossier": document.dossier}
    return render(request, "publishing/verify_code.html", context, status=result.status)


def _shown(result: Verification) -> dict[str, object]:
    return {
        "result": result,
        "report": result.report,
        "issued": result.issued,
        "verdict": result.verdict,
    }
