"""Registering a dossier, its confirmation page, printing and reprinting its receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from core.vntime import VN_TZ
from dossiers.errors import RegistrationError
from dossiers.models import Dossier, Office, Procedure, Role
from dossiers.phones import normalise_phone
from dossiers.services.access import role_required, scope
from dossiers.services.receipts import Kept, recall, receipt_of
from dossiers.services.receipts import keep as keep_receipts
from dossiers.services.registry import register_dossier
from dossiers.views.common import audit, private, session_key


class RegisterForm(forms.Form):
    office = forms.ModelChoiceField(Office.objects.none(), label=_("Cơ quan"))
    procedure = forms.ModelChoiceField(Procedure.objects.none(), label=_("Thủ tục"))
    code = forms.CharField(
        label=_("Mã hồ sơ"),
        max_length=64,
        required=False,
        help_text=_(
            "Để trống để tự sinh theo mẫu quốc gia (mã định danh cơ quan, ngày, số thứ tự); "
            "nhập mã khi hệ thống một cửa đã cấp."
        ),
    )
    applicant_name = forms.CharField(label=_("Họ tên người nộp"), max_length=255)
    email = forms.EmailField(
        label=_("Thư điện tử"),
        required=False,
        error_messages={"invalid": _("Thư điện tử không hợp lệ (ví dụ: ten@example.vn).")},
    )
    phone = forms.CharField(
        label=_("Số điện thoại"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["office"].queryset = scope(Office.objects.all(), user, Role.CLERK, via="pk")
        fields["procedure"].queryset = scope(
            Procedure.objects.select_related("office"), user, Role.CLERK
        )

    def clean_phone(self) -> str:
        try:
            return normalise_phone(str(self.cleaned_data.get("phone") or ""))
        except RegistrationError as exc:
            raise forms.ValidationError(exc.message_vi) from exc


def _initial(request: HttpRequest) -> dict[str, str]:
    """The office and procedure of the dossier just registered (``?co-quan=…&thu-tuc=…``)."""
    return {
        field: request.GET[param]
        for field, param in (("office", "co-quan"), ("procedure", "thu-tuc"))
        if request.GET.get(param, "").isdigit()
    }


@role_required(Role.CLERK)
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponseBase:
    """Register a dossier, then go to its confirmation page (the secret is not kept in clear)."""
    form = RegisterForm(request.POST or None, user=request.user, initial=_initial(request))
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            registered = register_dossier(
                code=data["code"] or None,
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
            audit(request, "registered", registered.dossier, code=registered.dossier.code)
            token = keep_receipts(session_key(request), [registered])
            return redirect("register-done", token=token)
    page = render(request, "dossiers/register.html", {"form": form, "error": error})
    return private(page, referrer="same-origin")  # a refused form shows the applicant's data


def _kept(request: HttpRequest, token: str) -> tuple[Kept, list[Dossier]] | None:
    kept = recall(token, session_key(request))
    if kept is None:
        return None
    dossiers = scope(
        Dossier.objects.select_related("office", "procedure"), request.user, Role.CLERK
    ).filter(pk__in=kept.dossier_ids)
    return kept, list(dossiers)


def _expired(request: HttpRequest) -> HttpResponse:
    return private(render(request, "dossiers/receipt_gone.html", status=410))


@role_required(Role.CLERK)
@require_GET
def registered(request: HttpRequest, token: str) -> HttpResponse:
    """The confirmation: code, applicant, due date; print, reprint, register the next one."""
    found = _kept(request, token)
    if found is None or not found[1]:
        return _expired(request)
    kept, dossiers = found
    dossier = dossiers[0]
    following = (
        reverse("register")
        + "?"
        + urlencode({"co-quan": dossier.office_id, "thu-tuc": dossier.procedure_id})
    )
    context = {
        "dossier": dossier,
        "reissued": kept.kind == "reissued",
        "receipt_url": reverse("receipt-pdf", args=[token, dossier.pk]),
        "next_url": following,
        "keep_until": datetime.fromtimestamp(kept.expires_at, tz=VN_TZ),
    }
    return private(render(request, "dossiers/registered.html", context))


@role_required(Role.CLERK)
@require_GET
def receipt(request: HttpRequest, token: str, dossier_id: int) -> HttpResponse:
    """The receipt PDF with the lookup secret, printable again while the token lasts."""
    found = _kept(request, token)
    if found is None:
        return _expired(request)
    dossier = next((d for d in found[1] if d.pk == dossier_id), None)
    pdf = receipt_of(found[0], dossier) if dossier is not None else None
    if dossier is None or pdf is None:
        raise Http404
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="giay-hen-{dossier.code}.pdf"'
    return private(response)
