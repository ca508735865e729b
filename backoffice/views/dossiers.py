"""The dossier list with its filters and search, and one dossier's page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from backoffice.services.dossier_actions import life_view
from backoffice.services.dossier_list import list_dossiers, scoped_dossiers
from backoffice.services.dossier_page import describe
from backoffice.services.people import DOSSIER_ROLES
from backoffice.views.forms import DossierFilterForm
from backoffice.views.headers import private
from dossiers.services.access import role_required


def _filters_of(request: HttpRequest) -> QueryDict | None:
    """The submitted filters: a search comes by POST, so names never sit in an address."""
    if request.method == "POST":
        return request.POST
    data = request.GET.copy()
    data.pop("q", None)
    return data or None


@role_required(*DOSSIER_ROLES)
@require_http_methods(["GET", "POST"])
def dossier_list(request: HttpRequest) -> HttpResponse:
    """The dossiers of the person's offices, filtered and searched, one bounded page."""
    form = DossierFilterForm(_filters_of(request), user=request.user)
    page = list_dossiers(request.user, form.filters(), timezone.now())
    response = render(request, "backoffice/dossier_list.html", {"form": form, "page": page})
    private(response)
    return response


@role_required(*DOSSIER_ROLES)
@require_GET
def dossier_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One dossier of the person's offices (or held by one on a transfer): timeline, documents
    and pages, messages, letters, and the actions of the person's role."""
    dossier = get_object_or_404(
        scoped_dossiers(request.user).select_related("office", "procedure"), code=code
    )
    response = render(
        request,
        "backoffice/dossier_detail.html",
        {"view": describe(dossier, timezone.now()), "life": life_view(request.user, dossier)},
    )
    private(response)
    return response
