"""Web pages: dossier registration with its receipt, the public lookup, verification."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from dossiers.models import Document, DocumentState, Dossier, Office, Procedure
from dossiers.receipt import ReceiptData, render_receipt
from dossiers.services.registry import RegistrationError, normalise_secret, register_dossier

LOOKUP_LIMIT = 20
LOOKUP_WINDOW_S = 600
MAX_VERIFY_BYTES = 50 * 1024 * 1024


class RegisterForm(forms.Form):
    office = forms.ModelChoiceField(Office.objects.all(), label="Cơ quan")
    procedure = forms.ModelChoiceField(Procedure.objects.select_related("office"), label="Thủ tục")
    code = forms.CharField(label="Mã hồ sơ", max_length=64)
    applicant_name = forms.CharField(label="Họ tên người nộp", max_length=255)
    email = forms.EmailField(label="Thư điện tử", required=False)
    phone = forms.CharField(label="Số điện thoại", max_length=32, required=False)


@login_required
@permission_required("dossiers.add_dossier", raise_exception=True)
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Register a dossier and answer with its printable receipt (the secret is not kept)."""
    form = RegisterForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            registered = register_dossier(
                code=data["code"],
                office=data["office"],
                procedure=data["procedure"],
                applicant_name=data["applicant_name"],
                email=data["email"],
                phone=data["phone"],
                received_at=timezone.now(),
                actor=request.user.get_username(),
            )
        except RegistrationError as exc:
            error = exc.message_vi
        else:
            dossier = registered.dossier
            pdf = render_receipt(
                ReceiptData(
                    dossier_code=dossier.code,
                    office_name=dossier.office.name,
                    procedure_name=dossier.procedure.name,
                    applicant_name=dossier.applicant_name,
                    received_at=dossier.received_at,
                    due_at=dossier.due_at,
                    lookup_secret=registered.secret,
                    lookup_url=f"{settings.PUBLIC_BASE_URL}/tra-cuu/",
                )
            )
            response = HttpResponse(pdf, content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="giay-hen-{dossier.code}.pdf"'
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "dossiers/register.html", {"form": form, "error": error})


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
