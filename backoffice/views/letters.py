"""A letter to the citizen: the head reviews, edits and signs it; its PDF for the office."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from audit.services.record import Action, record
from backoffice.services.letter_page import (
    APOLOGY_REASONS,
    letter_file,
    letter_sha256,
    sign_with_secret,
    suggested_new_day,
)
from backoffice.services.people import DOSSIER_ROLES
from backoffice.views.headers import private
from backoffice.views.life import visible_dossier
from backoffice.views.life_forms import OTHER, ApologyForm, LetterTextForm, first_error
from core.errors import PipelineError
from dossiers.models import Dossier, Letter, LetterForm, Role
from dossiers.services.access import check_role, role_required
from dossiers.services.life_letters import EDITABLE, edit_letter_text, revise_apology
from signing.models import Signer
from signing.services.letters import prepare_letter


def _letter(request: HttpRequest, code: str, letter_id: int) -> tuple[Dossier, Letter]:
    dossier = visible_dossier(request, code)
    letter = get_object_or_404(
        Letter.objects.select_related("dossier__office", "dossier__procedure"),
        pk=letter_id,
        dossier=dossier,
    )
    return dossier, letter


def _head(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user


@sensitive_post_parameters("passphrase")
@role_required(Role.HEAD)
@require_http_methods(["GET", "POST"])
def letter_detail(request: HttpRequest, code: str, letter_id: int) -> HttpResponse:
    """The letter's wording, apology details, PDF and signature, for the office's head."""
    dossier, letter = _letter(request, code, letter_id)
    check_role(request.user, Role.HEAD, office=dossier.office_id)
    if request.method == "POST":
        _act(request, letter)
        return redirect("letter-detail", code=dossier.code, letter_id=letter.pk)
    letter.refresh_from_db()
    signer = Signer.objects.filter(user=_head(request), office=dossier.office, active=True).first()
    chosen = letter.reason if letter.reason in APOLOGY_REASONS else (OTHER if letter.reason else "")
    response = render(
        request,
        "backoffice/letter_detail.html",
        {
            "dossier": dossier,
            "letter": letter,
            "editable": letter.state in EDITABLE,
            "apology": letter.form == LetterForm.APOLOGY,
            "apology_form": ApologyForm(
                initial={
                    "ly_do": chosen,
                    "ly_do_khac": letter.reason if chosen == OTHER else "",
                    "ngay_hen": suggested_new_day(letter),
                }
            ),
            "signer": signer,
            "has_pdf": letter_file(letter) is not None,
        },
    )
    private(response)
    return response


def _act(request: HttpRequest, letter: Letter) -> None:
    """One POST of the letter's page: save the wording, the apology's details, approve, sign."""
    action = request.POST.get("action", "")
    user = _head(request)
    try:
        if action == "save":
            text = LetterTextForm(request.POST)
            if not text.is_valid():
                messages.error(request, first_error(text))
                return
            edit_letter_text(letter, str(text.cleaned_data["noi_dung"]), user=user)
            messages.success(request, _("Đã lưu nội dung văn bản (trở lại dự thảo)."))
        elif action == "apology":
            apology = ApologyForm(request.POST)
            if not apology.is_valid():
                messages.error(request, first_error(apology))
                return
            revise_apology(letter, apology.reason(), apology.cleaned_data["ngay_hen"], user=user)
            messages.success(request, _("Đã cập nhật lý do và ngày hẹn lại trả kết quả."))
        elif action == "approve":
            prepare_letter(letter, user)
            messages.success(request, _("Đã duyệt nội dung; xem tệp PDF trước khi ký."))
        elif action == "sign":
            _sign(request, letter, user)
        else:
            messages.error(request, _("Thao tác không hợp lệ."))
    except PipelineError as exc:  # LifeError, SigningError (ApprovalError, KeyUnlockError …)
        messages.error(request, exc.message_vi)


@sensitive_variables("passphrase")
def _sign(request: HttpRequest, letter: Letter, user: User) -> None:
    passphrase = request.POST.get("passphrase", "").encode()
    if not passphrase:
        messages.error(request, _("Nhập mật khẩu khóa ký (hoặc mã PIN thiết bị ký số) để ký."))
        return
    try:
        sign_with_secret(letter, user, passphrase)
    finally:
        del passphrase
    messages.success(request, _("Đã ký số văn bản; văn bản sẽ được gửi cho công dân."))


@role_required(*DOSSIER_ROLES)
@require_GET
def letter_pdf(request: HttpRequest, code: str, letter_id: int) -> FileResponse:
    """The letter's PDF (signed once signed), for the people of the dossier's office."""
    dossier, letter = _letter(request, code, letter_id)
    check_role(request.user, *DOSSIER_ROLES, office=dossier.office_id)
    path = letter_file(letter)
    if path is None:
        raise Http404
    record(
        Action.DOWNLOADED,
        request=request,
        office=dossier.office_id,
        obj=letter,
        sha256=letter_sha256(letter),
    )
    response = FileResponse(path.open("rb"), content_type="application/pdf")
    private(response)
    return response
