"""Admin pages for dossiers, documents and the trail of events: registered facts read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from dossiers.admin.scoping import VIEW, ScopedAdmin, ScopedInline
from dossiers.models import Document, Dossier, Event
from dossiers.models.records import EVENT_WORDS, event_words, state_words
from dossiers.services.search import matching_text

__all__ = ["DocumentAdmin", "DossierAdmin", "EventAdmin", "EventKindFilter"]


class EventKindFilter(admin.SimpleListFilter):
    """Events by what happened, named in words (the kinds present, known ones first)."""

    title = "sự kiện"
    parameter_name = "su_kien"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        present = set(model_admin.get_queryset(request).values_list("kind", flat=True).distinct())
        known = [(kind, words) for kind, words in EVENT_WORDS.items() if kind in present]
        return known + [(kind, event_words(kind)) for kind in sorted(present - set(EVENT_WORDS))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(kind=value) if value else queryset


class _EventWords:
    """Columns that name an event and its states in words."""

    @admin.display(description="sự kiện", ordering="kind")
    def words(self, obj: Event) -> str:
        return obj.words

    @admin.display(description="từ trạng thái")
    def from_words(self, obj: Event) -> str:
        return state_words(obj.from_state)

    @admin.display(description="sang trạng thái")
    def to_words(self, obj: Event) -> str:
        return state_words(obj.to_state)


class DocumentInline(ScopedInline[Document, Dossier]):
    model = Document
    office_via = "dossier__office"
    superuser_may = office_admin_may = VIEW
    fields = ("state", "page_count", "mean_confidence", "reason", "state_changed_at")
    readonly_fields = fields
    show_change_link = True


class EventInline(_EventWords, ScopedInline[Event, Dossier]):
    model = Event
    office_via = "dossier__office"
    superuser_may = office_admin_may = VIEW
    fields = ("at", "words", "document", "from_words", "to_words", "actor")
    readonly_fields = fields
    verbose_name_plural = "nhật ký sự kiện"


@admin.register(Dossier)
class DossierAdmin(ScopedAdmin[Dossier]):
    """Dossiers as registered: the applicant's contact details may be corrected, nothing else.

    A dossier is registered at the desk (code, office, procedure, received and due
    dates, the lookup secret on the receipt), never here.
    """

    superuser_may = office_admin_may = frozenset({"view", "change"})
    list_display = ("code", "office", "procedure", "status", "received_at", "due_at", "resolved_at")
    list_filter = (
        ("office", admin.RelatedOnlyFieldListFilter),
        "status",
        ("procedure", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("office", "procedure")
    search_fields = ("code",)
    date_hierarchy = "received_at"
    fields = (
        "code",
        "office",
        "procedure",
        "applicant_name",
        "email",
        "phone",
        "received_at",
        "due_at",
        "resolved_at",
        "status",
        "secret",
        "created_at",
    )
    registered = ("code", "office", "procedure", "received_at", "due_at")
    readonly_fields = ("resolved_at", "status", "secret", "created_at")
    inlines = [DocumentInline, EventInline]

    @admin.display(description="mã tra cứu")
    def secret(self, obj: Dossier) -> str:
        """Whether a lookup secret was issued; the secret itself is only on the receipt."""
        if obj.secret_hash:
            return "Đã cấp (chỉ in trên giấy hẹn, hệ thống không lưu)"
        return "Chưa cấp"


@admin.register(Document)
class DocumentAdmin(ScopedAdmin[Document]):
    """Documents as the pipeline moved them: shown, never added or changed by hand."""

    office_via = "dossier__office"
    superuser_may = office_admin_may = VIEW
    list_display = (
        "number",
        "dossier",
        "state",
        "page_count",
        "mean_confidence",
        "state_changed_at",
    )
    list_filter = ("state", ("dossier__office", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("dossier",)
    search_fields = ("dossier__code",)
    search_help_text = "Mã hồ sơ, hoặc chữ trong nội dung nhận dạng (có dấu hay không dấu đều được)"
    readonly_fields = [f.name for f in Document._meta.fields if f.name not in ("id", "text_folded")]

    @admin.display(description="số", ordering="pk")
    def number(self, obj: Document) -> int:
        return obj.pk

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Document], search_term: str
    ) -> tuple[QuerySet[Document], bool]:
        """Match the dossier code as usual, or the recognised text ignoring marks and case."""
        by_code, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return by_code | matching_text(queryset, search_term), may_have_duplicates


@admin.register(Event)
class EventAdmin(_EventWords, ScopedAdmin[Event]):
    """The audit trail in words: what happened to which dossier, when and by whom."""

    office_via = "dossier__office"
    superuser_may = office_admin_may = VIEW
    list_display = ("at", "words", "dossier", "document", "from_words", "to_words", "actor")
    list_filter = (EventKindFilter, ("dossier__office", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("dossier", "document__dossier")
    search_fields = ("dossier__code",)
    fields = ("at", "words", "dossier", "document", "from_words", "to_words", "actor", "detail")
    readonly_fields = fields
    date_hierarchy = "at"
