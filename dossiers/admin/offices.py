"""Admin pages for offices (with their agency identifier and inbox), procedures and holidays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from dossiers.admin.scoping import ALL, VIEW, ScopedAdmin, ScopedInline
from dossiers.admin.users import MembershipInline
from dossiers.models import CalendarDay, Office, Procedure

__all__ = ["CalendarDayAdmin", "OfficeAdmin", "ProcedureAdmin"]


class ProcedureInline(ScopedInline[Procedure, Office]):
    model = Procedure
    fields = ("code", "name", "limit_working_days", "stamp_layout")
    show_change_link = True
    office_admin_may = ALL


class OfficeMembershipInline(MembershipInline):
    """The people of an office and their roles (the same rows as on each user's page)."""

    fk_name = "office"
    fields = ("user", "role")


@admin.register(Office)
class OfficeAdmin(ScopedAdmin[Office]):
    """Offices: an office administrator keeps their own and adds offices below them."""

    office_via = "pk"
    office_admin_may = frozenset({"view", "add", "change"})
    list_display = ("code", "name", "agency_code", "parent", "inbox")
    search_fields = ("code", "name", "agency_code")
    fields = ("code", "name", "agency_code", "parent", "inbox")
    readonly_fields = ("inbox",)
    inlines = [ProcedureInline, OfficeMembershipInline]

    @admin.display(description="thư mục nhận bản quét")
    def inbox(self, obj: Office) -> str:
        """The watched folder the office's clerks drop scans into."""
        return str(Path(settings.INBOX_DIR) / obj.code) if obj.code else ""

    def get_readonly_fields(self, request: HttpRequest, obj: Office | None = None) -> list[str]:
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and not request.user.is_superuser:
            # an office administrator cannot move their office out from under the office
            # above it, nor rename the folder its clerks scan into
            fields += ["code", "parent"]
        return fields

    def get_form(
        self, request: HttpRequest, obj: Office | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm[Office]]:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and not request.user.is_superuser and "parent" in form.base_fields:
            # a new office of an office administrator hangs below one of their offices
            form.base_fields["parent"].required = True
        return form


@admin.register(Procedure)
class ProcedureAdmin(ScopedAdmin[Procedure]):
    """Procedures and their legal time limits, with where their visible signature goes."""

    office_admin_may = ALL
    registered = ("office",)
    list_display = ("code", "name", "field", "office", "limit_working_days")
    list_filter = (("office", admin.RelatedOnlyFieldListFilter), "field")
    search_fields = ("code", "name", "field")
    fieldsets = (
        (None, {"fields": ("office", "code", "name", "field", "limit_working_days")}),
        ("Số hóa", {"fields": ("colour_mode",)}),
        (
            "Chữ ký hiển thị",
            {
                "description": "Ô chữ ký phải vừa trang A4 (210 × 297 mm). Khi ký, chữ ký không "
                "bao giờ đè lên chữ, con dấu hay hình: chỗ đã chọn có nội dung thì chữ ký dời sang "
                "chỗ trống gần nhất (thu nhỏ nếu cần, hoặc thêm trang ký); lý do ghi vào nhật ký.",
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
class CalendarDayAdmin(ScopedAdmin[CalendarDay]):
    """Holidays and make-up working days: nationwide, kept by the system's administrator."""

    office_via = None
    office_admin_may = VIEW
    list_display = ("day", "kind", "note")
    list_filter = ("kind",)
    date_hierarchy = "day"
