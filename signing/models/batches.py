"""Batches of documents awaiting an official's approval, and each item's decision."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from dossiers.models import Document, Office, Procedure
from signing.models.signers import Signer

RUN_STALE_AFTER = dt.timedelta(seconds=90)
"""A signing run (a batch's or an automatic signature's) that has not reported for this
long is taken to be dead (its worker was killed) and may be taken over; the run that
was taken over publishes nothing."""


class Batch(models.Model):
    """Documents of one office waiting for one official's decision."""

    class State(models.TextChoices):
        OPEN = "open", "Đang gom"
        SIGNING = "signing", "Đang ký"
        DONE = "done", "Đã xong"

    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="batches", verbose_name="cơ quan"
    )
    signer = models.ForeignKey(
        Signer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batches",
        verbose_name="người ký",
    )
    procedure = models.ForeignKey(
        Procedure,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batches",
        verbose_name="thủ tục",
    )
    state = models.CharField("trạng thái", max_length=16, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField("tạo lúc", auto_now_add=True)
    closed_at = models.DateTimeField("đóng lúc", null=True, blank=True)
    progress_done = models.PositiveIntegerField("đã xử lý", default=0)
    progress_total = models.PositiveIntegerField("tổng số cần xử lý", default=0)
    signing_heartbeat_at = models.DateTimeField(
        "lần ký gần nhất còn chạy lúc", null=True, blank=True
    )
    last_error = models.TextField("lỗi lần ký gần nhất", blank=True)

    class Meta:
        verbose_name = "lô ký"
        verbose_name_plural = "lô ký"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Lô #{self.pk} — {self.office.code}"

    @property
    def progress_percent(self) -> int:
        """Share of the last signing run already processed, 0 to 100."""
        if not self.progress_total:
            return 100 if self.state == self.State.DONE else 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class BatchItem(models.Model):
    """One document in a batch, the official's decision on it and its signature."""

    class Decision(models.TextChoices):
        PENDING = "pending", "Chờ quyết định"
        APPROVED = "approved", "Đồng ý"
        REJECTED = "rejected", "Từ chối"

    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="items", verbose_name="lô ký"
    )
    document = models.OneToOneField(
        Document, on_delete=models.PROTECT, related_name="batch_item", verbose_name="tài liệu"
    )
    decision = models.CharField(
        "quyết định", max_length=16, choices=Decision.choices, default=Decision.PENDING
    )
    reason = models.TextField("lý do từ chối", blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="người quyết định",
    )
    decided_at = models.DateTimeField("quyết định lúc", null=True, blank=True)
    approved_sha256 = models.CharField("SHA-256 đã phê duyệt", max_length=64, blank=True)
    signed_at = models.DateTimeField("ký xong lúc", null=True, blank=True)

    class Meta:
        verbose_name = "mục trong lô ký"
        verbose_name_plural = "mục trong lô ký"
        ordering = ["batch", "pk"]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.document_id}"
