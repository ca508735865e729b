"""Admin pages: the watched folders, and the intakes claimed from them (what became of each)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from dossiers.admin.scoping import ALL, VIEW, ScopedAdmin
from dossiers.models import Role
from dossiers.services.access import office_ids, offices
from watch_folders.models import Intake, WatchedFolder


@admin.register(Intake)
class IntakeAdmin(ScopedAdmin[Intake]):
    """Claimed folders as the watcher recorded them: shown, never added, changed or deleted."""

    office_via = None  # by office code (a refused folder may name no office): get_queryset
    superuser_may = office_admin_may = VIEW
    list_display = (
        "claimed_at",
        "office_code",
        "dossier_code",
        "folder_name",
        "pages",
        "outcome",
        "reason",
    )
    list_filter = ("outcome", "office_code")
    search_fields = ("dossier_code", "folder_name")
    readonly_fields = [f.name for f in Intake._meta.fields if f.name != "id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Intake]:
        rows = super().get_queryset(request)
        if office_ids(request.user, Role.ADMIN) is None:
            return rows  # a superuser: every folder, also those naming no known office
        return rows.filter(office_code__in=offices(request.user, Role.ADMIN).values("code"))


@admin.register(WatchedFolder)
class WatchedFolderAdmin(ScopedAdmin[WatchedFolder]):
    """Watched folders of the person's offices: layout, kind, default procedure, polling.

    Only a superuser sets a folder's path on the server (any other is the office's
    default ``inbox/<office>/``), since the watcher moves whatever lies in a watched
    folder. Changes apply when the watcher starts again.
    """

    superuser_may = office_admin_may = ALL
    list_display = ("office", "shown_path", "kind", "layout", "polling", "active")
    list_filter = ("kind", "layout", "active")
    search_fields = ("office__code", "office__name", "path")
    fields = (
        "office",
        "path",
        "kind",
        "layout",
        "file_pattern",
        "procedure",
        "settle_seconds",
        "polling",
        "active",
    )

    @admin.display(description="thư mục")
    def shown_path(self, obj: WatchedFolder) -> str:
        return str(obj.folder)

    def get_readonly_fields(
        self, request: HttpRequest, obj: WatchedFolder | None = None
    ) -> list[str]:
        fields = super().get_readonly_fields(request, obj)
        if not getattr(request.user, "is_superuser", False):
            fields.append("path")
        return fields
