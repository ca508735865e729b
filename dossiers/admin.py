"""Admin pages for offices, procedures, calendar days, dossiers and the audit trail."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from dossiers.models import CalendarDay, Document, Dossier, Event, Office, Procedure
from dossiers.services.search import matching_text


class ProcedureInline(admin.TabularInline[Procedure, Office]):
    model = Procedure
    extra = 0
    fields = ("code", "name", "limit_working_days", "stamp_layout")
    show_change_link = True


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin[Office]):
    list_display = ("code", "name")
    search_fields = ("code", "name")
    inlines = [ProcedureInline]


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin[Procedure]):
    list_display = ("code", "name", "office", "limit_working_days")
    list_filter = ("office",)
    search_fields = ("code", "name")
    fieldsets = (
        (None, {"fields": ("office", "code", "name", "limit_working_days")}),
        (
            "Chữ ký hiển thị",
            {
                "description": "Ô chữ ký phải vừa trang A4 (210 × 297 mm). Trang nhỏ hơn hoặc "
                "nằm ngang thì khi ký, ô được dời và thu nhỏ cho vừa trang, lý do ghi vào nhật ký.",
                "fields": (
                    "stamp_layout",
                    ("stamp_page", "stamp_page_number"),
                    "stamp_corner",
                    ("stamp_x_mm", "stamp_y_mm"),
                    ("stamp_width_mm", "stamp_height_mm"),
                ),
            },
        ),
    )


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin[CalendarDay]):
    list_display = ("day", "kind", "note")
    list_filter = ("kind",)


class DocumentInline(admin.TabularInline[Document, Dossier]):
    model = Document
    extra = 0
    fields = ("state", "page_count", "mean_confidence", "reason", "state_changed_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Dossier)
class DossierAdmin(admin.ModelAdmin[Dossier]):
    list_display = ("code", "office", "procedure", "status", "received_at", "due_at", "resolved_at")
    list_filter = ("office", "status", "procedure")
    search_fields = ("code",)
    date_hierarchy = "received_at"
    readonly_fields = ("received_at", "due_at", "resolved_at", "status", "created_at")
    exclude = ("secret_hash",)
    inlines = [DocumentInline]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin[Document]):
    list_display = ("pk", "dossier", "state", "page_count", "mean_confidence", "state_changed_at")
    list_filter = ("state",)
    search_fields = ("dossier__code",)
    search_help_text = "Mã hồ sơ, hoặc chữ trong nội dung nhận dạng (có dấu hay không dấu đều được)"
    readonly_fields = [f.name for f in Document._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Document], search_term: str
    ) -> tuple[QuerySet[Document], bool]:
        """Match the dossier code as usual, or the recognised text ignoring marks and case."""
        by_code, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return by_code | matching_text(queryset, search_term), may_have_duplicates


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = ("at", "kind", "dossier", "document", "from_state", "to_state", "actor")
    list_filter = ("kind",)
    search_fields = ("dossier__code",)
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False
