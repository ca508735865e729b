"""Back-office pages of the one-stop desk: registering a dossier and printing its receipt."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from dossiers.errors import RegistrationError
from dossiers.models import Office, Procedure, Role
from dossiers.services.access import role_required, scope
from dossiers.services.registry import receipt_pdf, register_dossier


class RegisterForm(forms.Form):
    office = forms.ModelChoiceField(Office.objects.none(), label="Cơ quan")
    procedure = forms.ModelChoiceField(Procedure.objects.none(), label="Thủ tục")
    code = forms.CharField(label="Mã hồ sơ", max_length=64)
    applicant_name = forms.CharField(label="Họ tên người nộp", max_length=255)
    email = forms.EmailField(label="Thư điện tử", required=False)
    phone = forms.CharField(label="Số điện thoại", max_length=32, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["office"].queryset = scope(Office.objects.all(), user, Role.CLERK, via="pk")
        fields["procedure"].queryset = scope(
            Procedure.objects.select_related("office"), user, Role.CLERK
        )


@role_required(Role.CLERK)
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Register a dossier and answer with its printable receipt (the secret is not kept)."""
    form = RegisterForm(request.POST or None, user=request.user)
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
            pdf = receipt_pdf(registered)
            response = HttpResponse(pdf, content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="giay-hen-{dossier.code}.pdf"'
            # The receipt carries the lookup secret: no copy kept, no Referer leaked from it.
            response["Cache-Control"] = "no-store"
            response["Referrer-Policy"] = "no-referrer"
            return response
    page = render(request, "dossiers/register.html", {"form": form, "error": error})
    page["Cache-Control"] = "no-store"  # a refused form shows the applicant's data again
    return page
