"""Response headers of back-office pages that show personal data."""

from __future__ import annotations

from django.http.response import HttpResponseBase

__all__ = ["private"]


def private(response: HttpResponseBase) -> HttpResponseBase:
    """Keep the page out of caches and its address out of other sites' Referer.

    ``same-origin``, not ``no-referrer``: with the latter a browser posts this page's forms
    with ``Origin: null``, which Django's CSRF check refuses.
    """
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response
