"""The administrator's wording of the one-stop forms, and the letters and hand-offs (read only)."""

from __future__ import annotations

from django.contrib import admin

from dossiers.admin.scoping import VIEW, ScopedAdmin
from dossiers.models import DossierStep, Letter, LetterTemplate


@admin.register(LetterTemplate)
class LetterTemplateAdmin(ScopedAdmin[LetterTemplate]):
    """Form texts (02–05) per regime: nationwide, kept by the system's administrator; without
    a row the wording in :mod:`dossiers.forms_text` is used."""

    office_via = None
    office_admin_may = VIEW
    list_display = ("form", "regime", "title", "updated_at")
    list_filter = ("form", "regime")


@admin.register(Letter)
class LetterAdmin(ScopedAdmin[Letter]):
    """Letters sent to citizens: drafted, signed and sent from the back office, read here."""

    office_via = "dossier__office"
    superuser_may = office_admin_may = VIEW
    list_display = ("dossier", "form", "number", "state", "created_at", "signed_at", "sent_at")
    list_filter = ("form", "state")
    search_fields = ("dossier__code", "number")
    list_select_related = ("dossier",)
    exclude = ("pdf_path", "signed_path")


@admin.register(DossierStep)
class DossierStepAdmin(ScopedAdmin[DossierStep]):
    """Each hand-off of a dossier between offices and people, timed (read only)."""

    office_via = "dossier__office"
    superuser_may = office_admin_may = VIEW
    list_display = ("dossier", "kind", "office", "holder", "started_at", "ended_at", "outcome")
    list_filter = ("kind", "outcome")
    search_fields = ("dossier__code",)
    list_select_related = ("dossier", "office", "holder")
