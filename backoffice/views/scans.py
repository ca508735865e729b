"""Refused scans with their reasons, sending a fixed one back in, and the watched folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backoffice.services.folders import watched_folders
from backoffice.services.people import FOLDER_ROLES, RESUBMIT_ROLES, SCAN_ROLES
from backoffice.services.refused import (
    failed_documents,
    list_refusals,
    office_codes,
    refused_intakes,
)
from backoffice.services.resubmit import ResubmitError, resubmit_document, resubmit_intake
from backoffice.views.headers import private
from dossiers.services.access import role_required


@role_required(*SCAN_ROLES)
@require_GET
def refused_list(request: HttpRequest) -> HttpResponse:
    """The scans of the person's offices waiting in failed/, each with its reason."""
    response = render(
        request,
        "backoffice/refused_list.html",
        {
            "refusals": list_refusals(request.user, *SCAN_ROLES),
            "resubmit_codes": set(office_codes(request.user, *RESUBMIT_ROLES)),
        },
    )
    private(response)
    return response


def _username(request: HttpRequest) -> str:
    return str(request.user.get_username())


def _answer(request: HttpRequest, resubmit: Callable[[], Path]) -> HttpResponse:
    try:
        dest = resubmit()
    except ResubmitError as exc:
        messages.error(request, exc.message_vi)
    else:
        folder = f"inbox/{dest.parent.name}/{dest.name}/"
        messages.success(
            request,
            _("Đã đặt lại vào thư mục tiếp nhận: %(folder)s; máy sẽ nhận lại trong giây lát.")
            % {"folder": folder},
        )
    return redirect("refused-scans")


@role_required(*RESUBMIT_ROLES)
@require_POST
def resubmit_refused_intake(request: HttpRequest, intake_id: int) -> HttpResponse:
    """Send a folder refused at claiming back into its office's inbox."""
    intake = get_object_or_404(refused_intakes(request.user, *RESUBMIT_ROLES), pk=intake_id)
    return _answer(
        request,
        lambda: resubmit_intake(intake, _username(request)),
    )


@role_required(*RESUBMIT_ROLES)
@require_POST
def resubmit_failed_document(request: HttpRequest, document_id: int) -> HttpResponse:
    """Send the scans of a document that failed digitizing back into its office's inbox."""
    document = get_object_or_404(
        failed_documents(request.user, *RESUBMIT_ROLES).select_related("dossier__office"),
        pk=document_id,
    )
    return _answer(
        request,
        lambda: resubmit_document(document, _username(request)),
    )


@role_required(*FOLDER_ROLES)
@require_GET
def folder_list(request: HttpRequest) -> HttpResponse:
    """Each watched folder: the last entry claimed, what waits, what was refused lately."""
    return render(
        request,
        "backoffice/folder_list.html",
        {"folders": watched_folders(request.user, timezone.now())},
    )
