"""Admin pages for signers and batches."""

from __future__ import annotations

from django.contrib import admin

from signing.models import Batch, BatchItem, OfficeSigningPolicy, Signer


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
