"""The public lookup: a dossier's status and its signed result, for the holder of its secret."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from django import forms
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from audit.services.record import Action, record
from dossiers.models import Document, Dossier, Letter, hash_secret
from dossiers.services.registry import normalise_secret
from publishing.services.clients import client_address
from publishing.services.lookup import RESULT_STATES, find_dossier, lookup_facts
from publishing.services.refusal_log import note_refusal
from publishing.services.status import dossier_status
from publishing.services.throttle import LookupThrottle, note_guessing, wait_text
from publishing.services.tokens import (
    TOKEN_TTL_S,
    issue_download,
    issue_letter_download,
    redeem_download,
    redeem_letter_download,
)

WRONG = _("Mã hồ sơ hoặc mã tra cứu không đúng.")
GONE = _(
    "Liên kết tải đã được dùng hoặc đã hết hạn (mỗi liên kết chỉ dùng được một lần, "
    "trong 5 phút). Vui lòng tra cứu lại để nhận liên kết mới."
)
UNREADABLE = _(
    "Tạm thời không đọc được tệp kết quả. Vui lòng tra cứu lại sau ít phút để nhận liên kết "
    "mới; nếu vẫn không được, xin liên hệ bộ phận một cửa."
)
log = logging.getLogger(__name__)
_NO_SUCH_SECRET = hash_secret("")  # compared against when the code is unknown: same work


class SecretInput(forms.TextInput):
    """A visible text input (the secret is long and read off paper) that never shows its value.

    A bound form would otherwise write the typed secret back into the page it re-renders.
    """

    def format_value(self, value: Any) -> str | None:
        return None


_TYPED = {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}


class LookupForm(forms.Form):
    code = forms.CharField(
        label=_("Mã hồ sơ"),
        max_length=64,
        widget=forms.TextInput(attrs={**_TYPED, "inputmode": "text"}),
    )
    secret = forms.CharField(
        label=_("Mã tra cứu"),
        max_length=64,
        help_text=_(
            "32 ký tự in trên giấy tiếp nhận, gõ theo từng nhóm 4 ký tự; "
            "có dấu cách, gạch ngang hay chữ thường đều được."
        ),
        widget=SecretInput(
            attrs={
                **_TYPED,
                "inputmode": "text",
                "autocorrect": "off",
                "class": "secret",
                "placeholder": "XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX",
            }
        ),
    )


Response = TypeVar("Response", bound=HttpResponseBase)


@dataclass(frozen=True)
class _Moment:
    """A time as the page writes it: ISO 8601 for ``<time datetime>``, and as read."""

    iso: str
    shown: str


def _moment(at: datetime) -> _Moment:
    """``at`` in the current time zone, as the ``date`` filter's ``c`` and ``H:i d/m/Y``
    write it (formatted here: a dozen filters cost a fifth of the page's rendering)."""
    local = timezone.localtime(at)
    return _Moment(local.isoformat(), local.strftime("%H:%M %d/%m/%Y"))


@dataclass(frozen=True)
class _HistoryLine:
    tone: str
    text: str
    at: _Moment


def _private(response: Response, *, personal: bool) -> Response:
    """No copy kept by a browser or proxy; pages with personal data leak no Referer.

    Only pages without a form to post get ``no-referrer``: under it a browser sends
    ``Origin: null`` with a POST, which the CSRF check refuses.
    """
    response["Cache-Control"] = "no-store"
    if personal:
        response["Referrer-Policy"] = "no-referrer"
    return response


def _form_page(
    request: HttpRequest, form: LookupForm, *, error: str | StrPromise = "", status: int = 200
) -> HttpResponse:
    response = render(
        request, "publishing/lookup.html", {"form": form, "error": error}, status=status
    )
    return _private(response, personal=False)


def _check(code: str, secret: str) -> tuple[Dossier | None, bool]:
    """The dossier of ``code`` (None if unknown) and whether ``secret`` is its own.

    An unknown code costs the same query, hash and comparison as a wrong secret.
    """
    dossier = find_dossier(code)
    if dossier is None:
        hmac.compare_digest(_NO_SUCH_SECRET, hash_secret(secret))
        return None, False
    return dossier, dossier.check_secret(secret)


@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    """Public: the dossier's status, and a link to its signed result, given code and secret.

    ``?ma=<code>`` (the receipt's QR code) fills the code in; the secret is never in
    a URL and never written back into the form.
    """
    if request.method != "POST":
        return _form_page(request, LookupForm(initial={"code": request.GET.get("ma", "")[:64]}))
    form = LookupForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form)
    code = form.cleaned_data["code"].strip()
    again = LookupForm(initial={"code": code})
    throttle = LookupThrottle()
    address = client_address(request)
    admission = throttle.admit(address, code)
    if not admission.allowed:
        response = _form_page(request, again, error=wait_text(admission.retry_after_s), status=429)
        response["Retry-After"] = str(admission.retry_after_s)
        note_refusal(response, address)
        return response
    dossier, ok = _check(code, normalise_secret(form.cleaned_data["secret"]))
    if dossier is None or not ok:
        failure = throttle.failed(admission)
        if failure.alert and dossier is not None:
            note_guessing(dossier, failure, address)
        response = _form_page(request, again, error=WRONG, status=403)
        note_refusal(response, address)
        return response
    throttle.succeeded(admission)
    facts = lookup_facts(dossier.pk)
    result = facts.result
    status = dossier_status(dossier, documents=facts.documents, events=facts.events)
    context = {
        "dossier": dossier,
        "status": status,
        "received": _moment(dossier.received_at),
        "due": _moment(dossier.due_at),
        "resolved": _moment(dossier.resolved_at) if dossier.resolved_at else None,
        "history": [_HistoryLine(step.tone, step.text, _moment(step.at)) for step in status.steps],
        "result": result,
        "download_url": (
            reverse("download", args=[issue_download(result.pk, dossier.secret_hash)])
            if result
            else ""
        ),
        "download_minutes": TOKEN_TTL_S // 60,
        "letters": [
            (
                letter,
                reverse("download", args=[issue_letter_download(letter.pk, dossier.secret_hash)]),
            )
            for letter in facts.letters
        ],
    }
    return _private(render(request, "publishing/lookup.html", context), personal=True)


@require_GET
def download(request: HttpRequest, token: str) -> HttpResponse | FileResponse:
    """Public: the signed result (or a signed letter) as a file, once, through the link a
    successful lookup gave."""
    letter_link = redeem_letter_download(token)
    if letter_link is not None:
        return _letter_file(request, *letter_link)
    redeemed = redeem_download(token)
    document = (
        Document.objects.select_related("dossier")
        .filter(pk=redeemed[0], state__in=RESULT_STATES)
        .exclude(signed_path="")
        .first()
        if redeemed is not None
        else None
    )
    if document is None or redeemed is None or redeemed[1] != document.dossier.secret_hash:
        # used, expired, unknown, or earned with a secret that was reissued since
        return _form_page(request, LookupForm(), error=GONE, status=410)
    return _signed_file(request, document, f"ket-qua-{document.dossier.code}.pdf")


def _letter_file(
    request: HttpRequest, letter_id: int, secret_hash: str
) -> HttpResponse | FileResponse:
    """The signed letter of a redeemed link, while the secret it was earned with still holds."""
    letter = (
        Letter.objects.select_related("dossier")
        .filter(pk=letter_id, state__in=(Letter.State.SIGNED, Letter.State.SENT))
        .exclude(signed_path="")
        .first()
    )
    if letter is None or secret_hash != letter.dossier.secret_hash:
        return _form_page(request, LookupForm(), error=GONE, status=410)
    return _signed_file(request, letter, f"van-ban-{letter.dossier.code}-{letter.pk}.pdf")


def _signed_file(
    request: HttpRequest, signed: Document | Letter, filename: str
) -> HttpResponse | FileResponse:
    """The signed PDF of a document or letter as a private download, recorded in the log
    once the file is open (a file that cannot be read is not a download: 503)."""
    try:
        handle = Path(signed.signed_path).open("rb")  # noqa: SIM115 (the response closes it)
    except OSError:
        log.exception("the signed file of %s %s cannot be read", type(signed).__name__, signed.pk)
        return _form_page(request, LookupForm(), error=UNREADABLE, status=503)
    record(
        Action.DOWNLOADED,
        request=request,
        office=signed.dossier.office_id,
        obj=signed,
        sha256=signed.signed_sha256,
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type="application/pdf",
    )
    return _private(response, personal=True)
