"""The forms of the dossier page's actions and of a letter's review: what each one takes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.services.dossier_actions import ActionData, LifeAction
from backoffice.services.letter_page import APOLOGY_REASONS
from dossiers.models import Dossier, Office

__all__ = ["ActionForm", "ApologyForm", "LetterTextForm", "action_form", "first_error"]

REASON_MAX = 2000
"""Longest reason, note or list of missing papers taken."""

OTHER = "khac"
"""The apology reason choice meaning "typed below"."""


class ActionForm(forms.Form):
    """An action with no field but, when it cannot be undone, the person's confirmation."""

    needs_reason = False

    xac_nhan = forms.BooleanField(label=_("Tôi xác nhận thao tác này"), required=False)

    def __init__(self, *args: Any, action: LifeAction, dossier: Dossier, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        self.dossier = dossier

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if self.action.confirm and not data.get("xac_nhan"):
            raise forms.ValidationError(
                _("Thao tác này không hoàn tác được: hãy đánh dấu ô xác nhận rồi bấm lại.")
            )
        return data

    def data_of(self) -> ActionData:
        """The cleaned values for the service."""
        return ActionData(reason=str(self.cleaned_data.get("ly_do") or "").strip())


class ReasonForm(ActionForm):
    """An action that says why (what is missing, why it ends)."""

    ly_do = forms.CharField(label=_("Lý do"), max_length=REASON_MAX, widget=forms.Textarea)


class NoteForm(ActionForm):
    """Handing the dossier back, with an optional note."""

    ly_do = forms.CharField(
        label=_("Ghi chú"), max_length=REASON_MAX, required=False, widget=forms.Textarea
    )


class TransferForm(ActionForm):
    """A transfer to another office (liên thông) for some working days."""

    co_quan = forms.ModelChoiceField(Office.objects.none(), label=_("Chuyển đến cơ quan"))
    so_ngay = forms.IntegerField(label=_("Số ngày làm việc"), min_value=1, max_value=90)
    ly_do = forms.CharField(label=_("Nội dung cần phối hợp"), max_length=REASON_MAX, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["co_quan"].queryset = Office.objects.exclude(pk=self.dossier.office_id)

    def data_of(self) -> ActionData:
        return ActionData(
            reason=str(self.cleaned_data.get("ly_do") or "").strip(),
            office=self.cleaned_data["co_quan"],
            days=int(self.cleaned_data["so_ngay"]),
        )


FORMS: dict[str, type[ActionForm]] = {
    "bo-sung": ReasonForm,
    "du-giay-to": ActionForm,
    "lien-thong": TransferForm,
    "nhan-lai": NoteForm,
    "tra-cong-dan": ActionForm,
    "rut": ReasonForm,
    "dung": ReasonForm,
    "tu-choi": ReasonForm,
}
"""Each action's form (``backoffice.services.dossier_actions.ACTIONS``)."""


def action_form(action: LifeAction, dossier: Dossier, data: Any) -> ActionForm:
    """The bound form of ``action``."""
    return FORMS[action.name](data, action=action, dossier=dossier)


class LetterTextForm(forms.Form):
    """The head's wording of a letter."""

    noi_dung = forms.CharField(label=_("Nội dung"), max_length=20_000, widget=forms.Textarea)


class ApologyForm(forms.Form):
    """An apology's reason (from the list, or typed) and its new appointment day."""

    ly_do = forms.ChoiceField(
        label=_("Lý do trễ hẹn"),
        choices=[*((r, r) for r in APOLOGY_REASONS), (OTHER, _("Lý do khác (ghi bên dưới)"))],
    )
    ly_do_khac = forms.CharField(label=_("Lý do khác"), max_length=REASON_MAX, required=False)
    ngay_hen = forms.DateField(
        label=_("Hẹn lại ngày trả kết quả"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("ly_do") == OTHER and not str(data.get("ly_do_khac") or "").strip():
            raise forms.ValidationError(_("Hãy ghi lý do khác."))
        return data

    def reason(self) -> str:
        """The reason chosen or typed."""
        chosen = str(self.cleaned_data["ly_do"])
        return str(self.cleaned_data["ly_do_khac"]).strip() if chosen == OTHER else chosen


def first_error(form: forms.Form) -> str:
    """The first error of an invalid form, as one sentence."""
    for errors in form.errors.values():
        for error in errors:
            return str(error)
    return str(_("Dữ liệu không hợp lệ."))
