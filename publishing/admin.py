"""Admin pages: the outbox (read-only, "send again"), SMS templates and citizens' ratings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from dossiers.admin.scoping import ALL, VIEW, ScopedAdmin, is_office_admin
from publishing.models import OutboxMessage, Rating, SmsTemplate
from publishing.services.delivery import masked, send_again
from publishing.services.delivery_sms import DEFAULT_TEMPLATES, check_fits
from publishing.sms import SmsTemplateError


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ScopedAdmin[OutboxMessage]):
    """What was sent to whom and what is still owed; nobody writes these rows by hand."""

    office_via = "document__dossier__office"
    superuser_may = office_admin_may = VIEW

    fields = (
        "document",
        "channel",
        "to",
        "state",
        "attempts",
        "last_error",
        "next_attempt_at",
        "claimed_until",
        "created_at",
        "sent_at",
    )
    list_display = ("number", *(f for f in fields if f not in ("claimed_until", "created_at")))
    list_filter = ("state", "channel")
    list_select_related = ("document__dossier",)
    search_fields = ("document__dossier__code",)
    readonly_fields = fields
    actions = ["send_again_action"]

    @admin.display(description="số", ordering="pk")
    def number(self, obj: OutboxMessage) -> int:
        return obj.pk

    @admin.display(description="người nhận")
    def to(self, obj: OutboxMessage) -> str:
        return masked(obj.recipient)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        """Sending again is for superusers and the administrators of the messages' offices
        (the page lists only those)."""
        return bool(request.user.is_superuser or is_office_admin(request.user))

    @admin.action(description="Gửi lại các tin đã chọn", permissions=["resend"])
    def send_again_action(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        chosen = list(queryset.values_list("pk", flat=True))
        moved = send_again(chosen, actor=request.user.get_username())
        if moved:
            self.message_user(request, f"Đã xếp {moved} tin để gửi lại.", messages.SUCCESS)
        if moved < len(chosen):
            self.message_user(
                request,
                f"{len(chosen) - moved} tin không gửi lại: đã gửi được, hoặc tài liệu không "
                "còn ở trạng thái chờ gửi.",
                messages.WARNING,
            )


class SmsTemplateForm(forms.ModelForm[SmsTemplate]):
    """Refuses a template that is not GSM-7 or whose longest rendering passes one SMS."""

    class Meta:
        model = SmsTemplate
        fields = ("purpose", "text")

    def clean_text(self) -> str:
        text = str(self.cleaned_data["text"]).strip()
        try:
            check_fits(text)
        except SmsTemplateError as error:
            raise forms.ValidationError(str(error)) from None
        return text


@admin.register(SmsTemplate)
class SmsTemplateAdmin(ScopedAdmin[SmsTemplate]):
    """The wording of each SMS, checked against the worst case before it is saved (the same
    for every office: the system's administrator's)."""

    office_via = None
    superuser_may = ALL
    office_admin_may = VIEW

    form = SmsTemplateForm
    list_display = ("purpose", "text", "updated_at")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        purpose = str(initial.get("purpose", SmsTemplate.Purpose.RESULT_READY))
        return {"purpose": purpose, "text": DEFAULT_TEMPLATES.get(purpose, ""), **initial}


@admin.register(Rating)
class RatingAdmin(ScopedAdmin[Rating]):
    """Citizens' ratings, as they gave them."""

    office_via = "dossier__office"
    superuser_may = office_admin_may = VIEW

    list_display = ("dossier", "score", "comment", "created_at")
    list_filter = ("score", ("dossier__office", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("dossier",)
    search_fields = ("dossier__code",)
    readonly_fields = ("dossier", "score", "comment", "created_at")
