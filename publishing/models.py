"""The outbox: each message owed to a citizen, sent at least once and recorded."""

from __future__ import annotations

from django.db import models

from dossiers.models import Document


class OutboxMessage(models.Model):
    """An email or SMS owed for a published document; the address stays on the dossier."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Thư điện tử"
        SMS = "sms", "Tin nhắn SMS"

    class State(models.TextChoices):
        PENDING = "pending", "Chờ gửi"
        SENT = "sent", "Đã gửi"
        FAILED = "failed", "Gửi lỗi"

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="outbox")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "tin gửi công dân"
        verbose_name_plural = "hộp thư đi"
        constraints = [
            models.UniqueConstraint(fields=["document", "channel"], name="one_message_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.document_id}"
