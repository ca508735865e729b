"""Dossiers, their documents and the trail of events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.db import models
from django.utils import timezone

from dossiers.calendar import Timeliness, timeliness
from dossiers.models.offices import Office, Procedure


def hash_secret(secret: str) -> str:
    """Hash a lookup secret; secrets carry 128+ random bits so one SHA-256 suffices."""
    return hashlib.sha256(secret.strip().encode("utf-8")).hexdigest()


class Dossier(models.Model):
    """An administrative case (hồ sơ) received at a one-stop desk."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Đã tiếp nhận"
        PROCESSING = "processing", "Đang giải quyết"
        RESOLVED = "resolved", "Đã có kết quả"

    code = models.CharField("mã hồ sơ", max_length=64, unique=True)
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="dossiers")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="dossiers")
    applicant_name = models.CharField("người nộp", max_length=255)
    email = models.EmailField("thư điện tử", blank=True)
    phone = models.CharField("điện thoại", max_length=32, blank=True)
    received_at = models.DateTimeField("thời điểm tiếp nhận")
    due_at = models.DateTimeField("hẹn trả kết quả")
    resolved_at = models.DateTimeField("thời điểm có kết quả", null=True, blank=True)
    status = models.CharField(
        "trạng thái", max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "hồ sơ"
        verbose_name_plural = "hồ sơ"
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["office", "status"])]

    def __str__(self) -> str:
        return self.code

    def check_secret(self, secret: str) -> bool:
        """Tell whether the given lookup secret is this dossier's, in constant time."""
        return bool(self.secret_hash) and hmac.compare_digest(self.secret_hash, hash_secret(secret))

    @property
    def timeliness(self) -> Timeliness | None:
        """Early, on time or late once resolved; None while still open."""
        if self.resolved_at is None:
            return None
        return timeliness(self.resolved_at, self.due_at)


def new_verify_code() -> str:
    """A document's public verification code: 80 random bits as 16 base32 letters and digits.

    It goes into the stamp's QR code (``/kiem-tra/<code>/``) and says nothing about the
    dossier or its applicant; it cannot be guessed from another document's.
    """
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")


class DocumentState(models.TextChoices):
    RECEIVED = "RECEIVED", "Đã nhận bản quét"
    DIGITIZING = "DIGITIZING", "Đang số hóa"
    AWAITING_APPROVAL = "AWAITING_APPROVAL", "Chờ phê duyệt"
    APPROVED = "APPROVED", "Đã phê duyệt"
    SIGNED = "SIGNED", "Đã ký số"
    PUBLISHED = "PUBLISHED", "Đã trả kết quả"
    DELIVERED = "DELIVERED", "Đã gửi cho công dân"
    FAILED = "FAILED", "Lỗi, cần xử lý"
    REJECTED = "REJECTED", "Bị từ chối"


class Document(models.Model):
    """One digitized document of a dossier, moving through the pipeline's states."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="documents")
    state = models.CharField(
        "trạng thái", max_length=24, choices=DocumentState.choices, default=DocumentState.RECEIVED
    )
    state_changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    source_dir = models.CharField("thư mục bản gốc", max_length=1024)
    source_sha256 = models.CharField(max_length=64, db_index=True)
    page_count = models.PositiveIntegerField(default=0)
    text = models.TextField("nội dung nhận dạng", blank=True)
    text_folded = models.TextField(
        "nội dung không dấu (để tìm kiếm)",
        blank=True,
        editable=False,
        help_text="Nội dung nhận dạng bỏ dấu, chữ thường; tự cập nhật khi nội dung thay đổi.",
    )
    mean_confidence = models.FloatField(null=True, blank=True)
    pdf_path = models.CharField(max_length=1024, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    signed_path = models.CharField(max_length=1024, blank=True)
    signed_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    verify_code = models.CharField(
        "mã kiểm tra",
        max_length=32,
        unique=True,
        default=new_verify_code,
        editable=False,
        help_text="Mã ngẫu nhiên trong mã QR của chữ ký: mở trang kiểm tra của chính tài liệu.",
    )
    reason = models.TextField("lý do", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "tài liệu"
        verbose_name_plural = "tài liệu"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "state_changed_at"])]

    def __str__(self) -> str:
        return f"{self.dossier.code} #{self.pk}"


class Event(models.Model):
    """An audit record: what happened to a dossier or document, when and by whom."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="events")
    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="events", null=True, blank=True
    )
    kind = models.CharField(max_length=64)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "sự kiện"
        verbose_name_plural = "nhật ký sự kiện"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"
