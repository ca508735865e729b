"""Admin pages for intakes."""

from __future__ import annotations

from django.contrib import admin

from watch_folders.models import Intake


@admin.register(Intake)
class IntakeAdmin(admin.ModelAdmin[Intake]):
    list_display = ("claimed_at", "office_code", "dossier_code", "outcome", "reason")
    list_filter = ("outcome", "office_code")
    search_fields = ("dossier_code",)
    readonly_fields = [f.name for f in Intake._meta.fields]
