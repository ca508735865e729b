"""Admin pages for the outbox."""

from __future__ import annotations

from django.contrib import admin

from publishing.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin[OutboxMessage]):
    list_display = ("document", "channel", "state", "attempts", "sent_at")
    list_filter = ("channel", "state")
