"""Response headers of back-office pages that show personal data."""

from __future__ import annotations

from typing import Literal

from django.http import HttpResponse
from django.http.response import HttpResponseBase

__all__ = ["private", "private_file"]


def private(response: HttpResponseBase) -> HttpResponseBase:
    """Keep the page out of caches and its address out of other sites' Referer.

    ``same-origin``, not ``no-referrer``: with the latter a browser posts this page's forms
    with ``Origin: null``, which Django's CSRF check refuses.
    """
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


def private_file(
    body: bytes,
    content_type: str,
    name: str,
    disposition: Literal["attachment", "inline"] = "attachment",
) -> HttpResponse:
    """A file of personal data for the browser to save (``attachment``) or show (``inline``)
    under ``name``, kept out of caches as :func:`private` pages are."""
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    private(response)
    return response
