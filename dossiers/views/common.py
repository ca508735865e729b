"""What the desk's pages share: private answers, the clerk's session, the audit trail."""

from __future__ import annotations

from typing import Any, TypeVar

from django.apps import apps
from django.db.models import Model
from django.http import HttpRequest
from django.http.response import HttpResponseBase

Response = TypeVar("Response", bound=HttpResponseBase)


def private(response: Response, *, referrer: str = "no-referrer") -> Response:
    """No copy kept by a browser or proxy, and no Referer leaked from the page.

    Pages with a form to post take ``same-origin``: under ``no-referrer`` a browser
    posts with ``Origin: null``, which the CSRF check refuses.
    """
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = referrer
    return response


def session_key(request: HttpRequest) -> str:
    """The key of the signed-in clerk's session (made if the session store has none yet)."""
    if not request.session.session_key:
        request.session.save()
    return str(request.session.session_key)


def audit(request: HttpRequest, action: str, obj: Model, **detail: Any) -> None:
    """Record ``action`` in the audit trail when the audit app is installed (never a secret)."""
    if not apps.is_installed("audit"):
        return
    from audit.services.record import record

    office = getattr(obj, "office_id", None)
    record(action, request=request, office=office, obj=obj, detail=detail)
