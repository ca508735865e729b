"""Admin pages for signers and batches."""

from __future__ import annotations

from django.contrib import admin

from signing.models import Batch, BatchItem, Signer


@admin.register(Signer)
class SignerAdmin(admin.ModelAdmin[Signer]):
    list_display = ("display_name", "user", "office", "active")
    list_filter = ("office", "active")


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
