"""Offices, procedures, dossiers, their documents and the audit trail of events."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from django.db import models
from django.utils import timezone

from dossiers.calendar import Timeliness, WorkCalendar, timeliness


class Office(models.Model):
    """A one-stop desk: a commune, district or province office."""

    code = models.SlugField("mã cơ quan", max_length=64, unique=True)
    name = models.CharField("tên cơ quan", max_length=255)

    class Meta:
        verbose_name = "cơ quan"
        verbose_name_plural = "cơ quan"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class StampLayout(models.TextChoices):
    """The visible stamp layouts a procedure may require (as in ``signing.stamp.Layout``)."""

    TEXT = "text", "Mẫu chữ (khung chữ và mã QR)"
    PERSONAL = "personal", "Chữ ký cá nhân (Phụ lục I Nghị định 30/2020)"
    CERTIFIED_COPY = "certified_copy", "Bản sao điện tử từ bản chính"


class Procedure(models.Model):
    """An administrative procedure (TTHC) with its legal time limit."""

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="procedures")
    code = models.CharField("mã thủ tục", max_length=64)
    name = models.CharField("tên thủ tục", max_length=500)
    limit_working_days = models.PositiveIntegerField("thời hạn giải quyết (ngày làm việc)")
    stamp_layout = models.CharField(
        "mẫu chữ ký hiển thị",
        max_length=32,
        choices=StampLayout.choices,
        blank=True,
        help_text="Để trống: theo người ký (mẫu cá nhân khi có ảnh chữ ký, nếu không thì mẫu "
        "chữ). Chứng thực bản sao từ bản chính dùng mẫu “bản sao điện tử”.",
    )

    class Meta:
        verbose_name = "thủ tục hành chính"
        verbose_name_plural = "thủ tục hành chính"
        constraints = [
            models.UniqueConstraint(fields=["office", "code"], name="procedure_code_per_office")
        ]
        ordering = ["office__code", "code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class CalendarDay(models.Model):
    """A day the government decrees off (or on, for a compensatory Saturday)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", "Ngày nghỉ"
        WORKDAY = "workday", "Ngày làm bù"

    day = models.DateField("ngày", unique=True)
    kind = models.CharField("loại", max_length=16, choices=Kind.choices, default=Kind.HOLIDAY)
    note = models.CharField("ghi chú", max_length=255, blank=True)

    class Meta:
        verbose_name = "ngày nghỉ/làm bù"
        verbose_name_plural = "ngày nghỉ/làm bù"
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day:%d/%m/%Y} {self.get_kind_display()}"

    @classmethod
    def work_calendar(cls) -> WorkCalendar:
        """Build the working-day calendar from the statutory holidays and these rows."""
        off: set[date] = set()
        on: set[date] = set()
        for day, kind in cls.objects.values_list("day", "kind"):
            (off if kind == cls.Kind.HOLIDAY else on).add(day)
        return WorkCalendar(extra_holidays=frozenset(off), extra_workdays=frozenset(on))


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
    signed_sha256 = models.CharField(max_length=64, blank=True)
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
