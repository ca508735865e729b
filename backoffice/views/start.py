"""The start page at "/": the public home for visitors, each person's day once signed in."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from backoffice.services.letters_waiting import letters_waiting
from backoffice.services.people import LEAD_ROLES
from backoffice.services.start import clerk_day, lead_day
from backoffice.views.headers import private
from dossiers.models import Role
from dossiers.services.access import roles_of


@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """Clerks see today's work and refused scans; officials and heads deadlines and batches."""
    roles = roles_of(request.user)
    clerk = Role.CLERK in roles
    lead = bool(roles & set(LEAD_ROLES))
    if not (clerk or lead):
        return render(request, "motcua/home.html")
    now = timezone.now()
    response = render(
        request,
        "backoffice/start.html",
        {
            "clerk_day": clerk_day(request.user, now) if clerk else None,
            "lead_day": lead_day(request.user, now) if lead else None,
            "letters_waiting": letters_waiting(request.user) if lead else None,
        },
    )
    private(response)
    return response
