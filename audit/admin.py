"""The audit trail in the admin: read by those allowed, changed by nobody."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = (
        "seq",
        "at",
        "action",
        "username",
        "client_address",
        "office_id",
        "object_type",
        "object_id",
        "short_sha256",
    )
    list_filter = ("action",)
    search_fields = ("username", "object_id", "sha256", "client_address")
    date_hierarchy = "at"
    list_per_page = 100
    show_full_result_count = False
    actions = None
    fields = (
        "seq",
        "at",
        "action",
        "username",
        "user_id",
        "office_id",
        "client_address",
        "object_type",
        "object_id",
        "sha256",
        "detail",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    @admin.display(description="SHA-256 tài liệu")
    def short_sha256(self, entry: AuditEntry) -> str:
        return f"{entry.sha256[:12]}…" if entry.sha256 else "—"

    # The trail spans every office (it knows no office rows, being below them): the
    # system's administrators read it; office administrators see their offices' history
    # on the back office's dossier pages.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
