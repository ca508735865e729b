"""The dossier list's filter form: what a person may narrow the list by."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.services.dossier_list import DUE_OVERDUE, DUE_SOON, QUERY_MAX, Filters
from backoffice.services.people import DOSSIER_ROLES, Person
from dossiers.models import DocumentState, Dossier, Procedure
from dossiers.services.access import scope


class DossierFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Tìm theo mã, người nộp hoặc nội dung"), max_length=QUERY_MAX, required=False
    )
    trang_thai = forms.ChoiceField(
        label=_("Trạng thái hồ sơ"),
        choices=[("", _("Tất cả")), *Dossier.Status.choices],
        required=False,
    )
    tai_lieu = forms.ChoiceField(
        label=_("Có tài liệu ở trạng thái"),
        choices=[("", _("Tất cả")), *DocumentState.choices],
        required=False,
    )
    thu_tuc = forms.ModelChoiceField(
        Procedure.objects.none(), label=_("Thủ tục"), required=False, empty_label=_("Tất cả")
    )
    tu_ngay = forms.DateField(
        label=_("Tiếp nhận từ ngày"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    den_ngay = forms.DateField(
        label=_("Đến ngày"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    han = forms.ChoiceField(
        label=_("Hạn trả"),
        choices=[("", _("Tất cả")), (DUE_SOON, _("Sắp đến hạn")), (DUE_OVERDUE, _("Quá hạn"))],
        required=False,
    )
    trang = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args: Any, user: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["thu_tuc"].queryset = scope(
            Procedure.objects.select_related("office"), user, *DOSSIER_ROLES
        ).order_by("office__code", "code")

    def filters(self) -> Filters:
        """The valid filters (an invalid field counts as not given)."""
        if not self.is_bound:
            return Filters()
        self.is_valid()
        data: dict[str, Any] = self.cleaned_data
        procedure = data.get("thu_tuc")
        return Filters(
            query=data.get("q") or "",
            status=data.get("trang_thai") or "",
            document_state=data.get("tai_lieu") or "",
            procedure_id=procedure.pk if procedure is not None else None,
            received_from=data.get("tu_ngay"),
            received_to=data.get("den_ngay"),
            due=data.get("han") or "",
            page=data.get("trang") or 1,
        )
