"""Pages of a document under OCR, one row each so pages run in parallel."""

from __future__ import annotations

from django.db import models

from dossiers.models import Document
from dossiers.models.leases import Leased


class Page(Leased):
    """One page image of a document and its OCR outcome."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="pages")
    index = models.PositiveIntegerField()
    image_path = models.CharField(max_length=1024)
    dpi = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    mode = models.CharField(max_length=8)
    done = models.BooleanField(default=False)
    text = models.TextField(blank=True)
    confidence = models.FloatField(null=True, blank=True)
    layout_path = models.CharField(max_length=1024, blank=True)
    encoded_path = models.CharField(max_length=1024, blank=True)
    flags = models.JSONField(
        "cảnh báo",
        default=list,
        blank=True,
        help_text="Phát hiện của khâu kiểm tra chất lượng ảnh quét và nhận dạng chữ "
        "(mã, mức chặn/cảnh báo, lời nhắn tiếng Việt), hiển thị khi ký duyệt.",
    )
    rotation = models.PositiveSmallIntegerField(
        "góc xoay", default=0, help_text="Độ xoay theo chiều kim đồng hồ để trang đứng thẳng."
    )
    skew = models.FloatField(
        "độ nghiêng",
        default=0.0,
        help_text="Độ nghiêng đo được (độ, ngược chiều kim đồng hồ); chỉnh khi từ 0,2° trở lên.",
    )

    class Meta:
        verbose_name = "trang"
        verbose_name_plural = "trang"
        ordering = ["document", "index"]
        constraints = [
            models.UniqueConstraint(fields=["document", "index"], name="page_index_per_document")
        ]

    def __str__(self) -> str:
        return f"{self.document_id}/{self.index + 1}"


class DocumentWork(Leased):
    """A document's digitize stage that runs as one unit (splitting, assembly), under a lease."""

    class Stage(models.TextChoices):
        PREPARE = "prepare", "tách trang"
        ASSEMBLE = "assemble", "ghép PDF"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=16, choices=Stage.choices)

    class Meta:
        verbose_name = "việc của tài liệu"
        verbose_name_plural = "việc của tài liệu"
        constraints = [
            models.UniqueConstraint(fields=["document", "stage"], name="one_work_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.document_id}/{self.stage}"
