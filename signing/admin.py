"""Admin pages for signers, batches, organisation keys and automatic signing."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from signing.models import (
    AutoSignature,
    AutoSignPolicy,
    Batch,
    BatchItem,
    OfficeSigningPolicy,
    OrganisationKey,
    Signer,
)


@admin.register(Signer)
class SignerAdmin(admin.ModelAdmin[Signer]):
    list_display = ("display_name", "user", "office", "key_kind", "active")
    list_filter = ("office", "key_kind", "active")
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


@admin.register(OfficeSigningPolicy)
class OfficeSigningPolicyAdmin(admin.ModelAdmin[OfficeSigningPolicy]):
    list_display = ("office", "level", "tsa_url")
    list_filter = ("level",)


class BatchItemInline(admin.TabularInline[BatchItem, Batch]):
    model = BatchItem
    extra = 0
    readonly_fields = (
        "document",
        "decision",
        "reason",
        "decided_by",
        "decided_at",
        "approved_sha256",
        "signed_at",
    )
    can_delete = False


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin[Batch]):
    list_display = ("pk", "office", "signer", "state", "created_at")
    list_filter = ("office", "state")
    inlines = [BatchItemInline]


@admin.register(OrganisationKey)
class OrganisationKeyAdmin(admin.ModelAdmin[OrganisationKey]):
    list_display = ("office", "pkcs12_path", "active")
    list_filter = ("active",)


@admin.register(AutoSignPolicy)
class AutoSignPolicyAdmin(admin.ModelAdmin[AutoSignPolicy]):
    list_display = ("office", "procedure", "enabled")
    list_filter = ("office", "enabled")


@admin.register(AutoSignature)
class AutoSignatureAdmin(admin.ModelAdmin[AutoSignature]):
    list_display = (
        "document",
        "organisation_key",
        "approved_at",
        "signed_at",
        "attempts",
        "retry_at",
        "last_error",
    )
    list_filter = ("organisation_key__office",)
    search_fields = ("document__dossier__code",)
    readonly_fields = [f.name for f in AutoSignature._meta.fields]
    actions = ["retry_now", "give_to_officials"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AutoSignature | None = None) -> bool:
        return False

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
