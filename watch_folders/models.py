"""Intakes: folders of scans claimed from the inbox, with their fingerprints."""

from __future__ import annotations

from django.db import models

from dossiers.models import Document


class Intake(models.Model):
    """One claimed inbox folder and what became of it."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Đã nhận"
        DUPLICATE = "duplicate", "Trùng lặp"
        REFUSED = "refused", "Không hợp lệ"

    office_code = models.CharField(max_length=64)
    dossier_code = models.CharField(max_length=64, blank=True)
    folder_name = models.CharField(max_length=255)
    path = models.CharField(max_length=1024)
    files = models.JSONField(default=list)
    sha256 = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    document = models.OneToOneField(
        Document, on_delete=models.PROTECT, null=True, blank=True, related_name="intake"
    )
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "lượt tiếp nhận"
        verbose_name_plural = "lượt tiếp nhận"
        ordering = ["-claimed_at"]

    def __str__(self) -> str:
        return f"{self.office_code}/{self.folder_name}"
