"""The public verification page: anyone checks a signed PDF and whether this system issued it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from dossiers.models import Document

MAX_VERIFY_BYTES = 50 * 1024 * 1024


class VerifyForm(forms.Form):
    pdf = forms.FileField(label="Tệp PDF cần kiểm tra")


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Public: check a PDF's signatures and whether this system issued it unchanged."""
    from signing.verify.check import verify_pdf

    form = VerifyForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"form": form}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["pdf"]
        if upload.size > MAX_VERIFY_BYTES:
            context["error"] = "Tệp quá lớn (tối đa 50 MB)."
        else:
            data = upload.read()
            trust = sorted(Path(settings.TRUST_DIR).glob("*.pem"))
            context["report"] = verify_pdf(data, trust)
            digest = hashlib.sha256(data).hexdigest()
            context["issued"] = Document.objects.filter(signed_sha256=digest).exists()
    return render(request, "publishing/verify.html", context)
