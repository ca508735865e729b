"""Admin pages for signers, batches, organisation keys and automatic signing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from dossiers.admin.scoping import ALL, VIEW, ScopedAdmin, ScopedInline
from signing.models import (
    AutoSignature,
    AutoSignPolicy,
    Batch,
    BatchItem,
    OfficeSigningPolicy,
    OrganisationKey,
    Signer,
)

_BY_OFFICE = ("office", admin.RelatedOnlyFieldListFilter)


class StampImageInput(forms.ClearableFileInput):
    """An image upload that names the stored image without linking to it (it is not served)."""

    template_name = "signing/widgets/stamp_image_input.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"accept": "image/png,image/jpeg", **(attrs or {})})


class SignerForm(forms.ModelForm[Signer]):
    class Meta:
        model = Signer
        fields = "__all__"
        widgets = {"signature_image": StampImageInput, "seal_image": StampImageInput}


@admin.register(Signer)
class SignerAdmin(ScopedAdmin[Signer]):
    """Signing officials, where their keys are, and their signature and seal images."""

    form = SignerForm
    office_admin_may = frozenset({"view", "add", "change"})
    list_display = ("display_name", "user", "office", "key_kind", "active")
    list_filter = (_BY_OFFICE, "key_kind", "active")
    list_select_related = ("user", "office")
    fieldsets = (
        (None, {"fields": ("user", "office", "display_name", "title", "active")}),
        (
            "Khóa ký",
            {
                "fields": (
                    "key_kind",
                    "cert_sha256",
                    "pkcs12_path",
                    "pkcs11_module",
                    "token_label",
                    "key_id",
                )
            },
        ),
        ("Chữ ký hiển thị", {"fields": ("signature_image", "seal_image")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Signer | None = None) -> list[str]:
        fields = super().get_readonly_fields(request, obj)
        if not request.user.is_superuser:
            # a PKCS#11 library is code the signing worker loads: the system's administrator's
            fields.append("pkcs11_module")
        return fields


@admin.register(OfficeSigningPolicy)
class OfficeSigningPolicyAdmin(ScopedAdmin[OfficeSigningPolicy]):
    office_admin_may = frozenset({"view", "add", "change"})
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("office", "level", "tsa_url")
    list_filter = ("level",)


class BatchItemInline(ScopedInline[BatchItem, Batch]):
    model = BatchItem
    office_via = "batch__office"
    superuser_may = office_admin_may = VIEW
    fields = readonly_fields = (
        "document",
        "decision",
        "reason",
        "decided_by",
        "decided_at",
        "approved_sha256",
        "signed_at",
    )


@admin.register(Batch)
class BatchAdmin(ScopedAdmin[Batch]):
    """Batches as the officials and the signing runs left them: shown, never edited."""

    superuser_may = office_admin_may = VIEW
    list_display = ("number", "office", "signer", "procedure", "state", "created_at", "closed_at")
    list_filter = (_BY_OFFICE, "state")
    list_select_related = ("office", "signer", "procedure")
    inlines = [BatchItemInline]

    @admin.display(description="số lô", ordering="pk")
    def number(self, obj: Batch) -> int:
        return obj.pk


@admin.register(OrganisationKey)
class OrganisationKeyAdmin(ScopedAdmin[OrganisationKey]):
    """Organisation keys: files and passphrase files on the signing machine, so declared by
    the system's administrator; an office administrator sees their office's."""

    office_admin_may = VIEW
    list_display = ("office", "pkcs12_path", "active")
    list_filter = ("active",)


@admin.register(AutoSignPolicy)
class AutoSignPolicyAdmin(ScopedAdmin[AutoSignPolicy]):
    office_admin_may = ALL
    list_display = ("office", "procedure", "enabled")
    list_filter = (_BY_OFFICE, "enabled")


@admin.register(AutoSignature)
class AutoSignatureAdmin(ScopedAdmin[AutoSignature]):
    """The service's automatic signatures: shown, retried or handed over, never edited."""

    office_via = "document__dossier__office"
    superuser_may = office_admin_may = VIEW
    list_display = (
        "document",
        "organisation_key",
        "approved_at",
        "signed_at",
        "attempts",
        "retry_at",
        "last_error",
    )
    list_filter = (("organisation_key__office", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("document__dossier__code",)
    readonly_fields = [f.name for f in AutoSignature._meta.fields]
    actions = ["retry_now", "give_to_officials"]

    @admin.action(description="Thử ký tự động lại ngay")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[AutoSignature]) -> None:
        from signing.services.autosign_plan import enqueue_due_auto_signatures

        selected = list(queryset.values_list("pk", flat=True))
        AutoSignature.objects.filter(
            pk__in=selected, signed_at__isnull=True, handed_over_at__isnull=True
        ).update(retry_at=timezone.now())
        count = enqueue_due_auto_signatures(only=selected)
        level = messages.SUCCESS if count == len(selected) else messages.WARNING
        self.message_user(
            request,
            f"Đã đưa {count}/{len(selected)} tài liệu đã chọn vào hàng đợi ký tự động (tài liệu "
            "đã ký, đã chuyển lãnh đạo hoặc đang ký thì không đưa).",
            level,
        )

    @admin.action(description="Chuyển cho lãnh đạo ký duyệt")
    def give_to_officials(self, request: HttpRequest, queryset: QuerySet[AutoSignature]) -> None:
        from signing.services.autosign_plan import hand_over

        actor = request.user.get_username()
        moved = sum(hand_over(record, actor) for record in queryset)
        level = messages.SUCCESS if moved == queryset.count() else messages.WARNING
        self.message_user(
            request,
            f"Đã chuyển {moved} tài liệu cho lãnh đạo ký duyệt (tài liệu đã ký hoặc đang ký thì "
            "không chuyển).",
            level,
        )
