"""Reissuing a lost lookup secret at the desk: find the dossier, confirm, print the new receipt."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from dossiers.models import Dossier, Role
from dossiers.services.access import check_role, role_required, scope
from dossiers.services.receipts import keep as keep_receipts
from dossiers.services.reissue import reissue_secret
from dossiers.views.common import audit, private, session_key


class FindForm(forms.Form):
    ma = forms.CharField(label=gettext_lazy("Mã hồ sơ"), max_length=64)


@role_required(Role.CLERK)
@require_http_methods(["GET", "POST"])
def reissue(request: HttpRequest) -> HttpResponseBase:
    """GET ``?ma=<code>``: the dossier and a confirmation; POST: a new secret, the old one void.

    Only a clerk of the dossier's office finds it (others get "not found"); the new
    receipt opens on the confirmation page, as after a registration.
    """
    clerks_dossiers = scope(
        Dossier.objects.select_related("office", "procedure"), request.user, Role.CLERK
    )
    if request.method == "POST":
        dossier = get_object_or_404(clerks_dossiers, code=request.POST.get("ma", "").strip())
        check_role(request.user, Role.CLERK, office=dossier.office_id)
        registered = reissue_secret(dossier, actor=request.user.get_username())
        audit(request, "secret_reissued", dossier, code=dossier.code)
        token = keep_receipts(session_key(request), [registered], kind="reissued")
        return redirect("register-done", token=token)
    form = FindForm(request.GET if "ma" in request.GET else None)
    found: Dossier | None = None
    error = ""
    if form.is_valid():
        found = clerks_dossiers.filter(code=form.cleaned_data["ma"].strip()).first()
        if found is None:
            error = _("Không có hồ sơ mã %(code)s trong các cơ quan bạn tiếp nhận.") % {
                "code": form.cleaned_data["ma"].strip()
            }
    page = render(
        request,
        "dossiers/reissue.html",
        {"form": form, "dossier": found, "error": error},
        status=404 if error else 200,
    )
    return private(page, referrer="same-origin")
