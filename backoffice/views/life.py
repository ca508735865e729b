"""The dossier page's actions (supplement, transfer, endings, return) and its control slip."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.services.record import Action, record
from backoffice.services.dossier_actions import ACTIONS, check_action, perform, transfer_targets
from backoffice.services.dossier_list import scoped_dossiers
from backoffice.services.people import DOSSIER_ROLES
from backoffice.views.headers import private, private_file
from backoffice.views.life_forms import action_form, first_error
from dossiers.errors import LifeError
from dossiers.models import Dossier
from dossiers.services.access import role_required
from dossiers.services.letters import slip_pdf


def visible_dossier(request: HttpRequest, code: str) -> Dossier:
    """The dossier if the person may see it (their office's, or held by it on a transfer);
    else 404, so its existence stays hidden."""
    return get_object_or_404(
        scoped_dossiers(request.user).select_related("office", "procedure"), code=code
    )


def back_to(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    """The dossier's page, or the list when the person no longer sees it (handed back)."""
    if scoped_dossiers(request.user).filter(pk=dossier.pk).exists():
        return redirect("dossier-detail", code=dossier.code)
    return redirect("dossier-list")


@role_required(*DOSSIER_ROLES)
@require_POST
def dossier_action(request: HttpRequest, code: str, action: str) -> HttpResponse:
    """Take one step of the dossier's life; 403 for the wrong role, 404 for another office."""
    step = ACTIONS.get(action)
    if step is None:
        raise Http404
    dossier = visible_dossier(request, code)
    check_action(request.user, dossier, step)
    form = action_form(step, dossier, request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return back_to(request, dossier)
    try:
        done = perform(step, dossier, request.user, form.data_of())
    except LifeError as exc:
        messages.error(request, exc.message_vi)
    else:
        messages.success(request, done)
    return back_to(request, dossier)


@role_required(*DOSSIER_ROLES)
@require_GET
def dossier_transfer(request: HttpRequest, code: str) -> HttpResponse:
    """The transfer's form (liên thông): which office, for how many working days, why."""
    dossier = visible_dossier(request, code)
    check_action(request.user, dossier, ACTIONS["lien-thong"])
    response = render(
        request,
        "backoffice/dossier_transfer.html",
        {"dossier": dossier, "targets": transfer_targets(dossier)},
    )
    private(response)
    return response


@role_required(*DOSSIER_ROLES)
@require_GET
def dossier_slip(request: HttpRequest, code: str) -> HttpResponse:
    """The process-control slip (form 06; form 05 under the 2018 rules) as a PDF."""
    dossier = visible_dossier(request, code)
    data = slip_pdf(dossier)
    record(
        Action.DOWNLOADED,
        request=request,
        office=dossier.office_id,
        obj=dossier,
        detail={"slip": True},
    )
    return private_file(data, "application/pdf", f"phieu-kiem-soat-{dossier.pk}.pdf", "inline")
