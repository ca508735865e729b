"""Request body limits: an oversized or unsized body is refused before anything reads it."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

__all__ = ["BodyLimitMiddleware", "body_limit", "largest_body_limit"]


def body_limit(path: str) -> int:
    """The largest body a request to ``path`` may carry (``REQUEST_BODY_LIMITS`` by exact
    path, else ``REQUEST_BODY_MAX_BYTES``)."""
    limits: dict[str, int] = settings.REQUEST_BODY_LIMITS
    return int(limits.get(path, settings.REQUEST_BODY_MAX_BYTES))


def largest_body_limit() -> int:
    """The largest body any path accepts: the web server's own limit."""
    limits: dict[str, int] = settings.REQUEST_BODY_LIMITS
    return int(max([settings.REQUEST_BODY_MAX_BYTES, *limits.values()]))


class BodyLimitMiddleware:
    """Answers 413 when Content-Length exceeds the path's limit, 411 when a body comes
    without one (chunked), 400 when it is not a number; only the headers are read.

    It sits before every middleware that reads the body (the CSRF check reads the
    form), so a refused body is never read, parsed or written to a temporary file.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self._refusal(request)
        return refusal if refusal is not None else self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        raw = str(request.META.get("CONTENT_LENGTH") or "").strip()
        if not raw:
            if request.META.get("HTTP_TRANSFER_ENCODING"):
                return _refuse(request, 411, gettext("Yêu cầu gửi dữ liệu phải ghi rõ độ dài."))
            return None
        if not raw.isdigit():
            return _refuse(request, 400, gettext("Độ dài dữ liệu gửi lên không hợp lệ."))
        limit = body_limit(request.path_info)
        if int(raw) <= limit:
            return None
        megabytes = max(1, limit // (1024 * 1024))
        message = gettext("Dữ liệu gửi lên quá lớn: trang này nhận tối đa %(megabytes)d MB.")
        return _refuse(request, 413, message % {"megabytes": megabytes})


def _refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "motcua/body_refused.html", {"message": message}, status=status)
