"""Pages of a document under OCR, one row each so pages run in parallel."""

from __future__ import annotations

from django.db import models

from dossiers.models import Document


class Page(models.Model):
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
    text_pdf_path = models.CharField(max_length=1024, blank=True)

    class Meta:
        verbose_name = "trang"
        verbose_name_plural = "trang"
        ordering = ["document", "index"]
        constraints = [
            models.UniqueConstraint(fields=["document", "index"], name="page_index_per_document")
        ]

    def __str__(self) -> str:
        return f"{self.document_id}/{self.index + 1}"
