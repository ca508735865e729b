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
        SUPPLEMENT = "supplement", "Chờ bổ sung hồ sơ"
        TRANSFERRED = "transferred", "Đang liên thông sang cơ quan khác"
        REFUSED = "refused", "Từ chối giải quyết"
        STOPPED = "stopped", "Dừng giải quyết"
        WITHDRAWN = "withdrawn", "Công dân rút hồ sơ"
        RETURNED = "returned", "Đã trả kết quả cho công dân"

    code = models.CharField("mã hồ sơ", max_length=64, unique=True)
    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="dossiers", verbose_name="cơ quan"
    )
    procedure = models.ForeignKey(
        Procedure, on_delete=models.PROTECT, related_name="dossiers", verbose_name="thủ tục"
    )
    applicant_name = models.CharField("người nộp", max_length=255)
    applicant_folded = models.CharField(
        "người nộp không dấu (để tìm kiếm)",
        max_length=255,
        blank=True,
        editable=False,
        help_text="Tên người nộp bỏ dấu, chữ thường; tự cập nhật khi tên thay đổi.",
    )
    email = models.EmailField("thư điện tử", blank=True)
    phone = models.CharField("điện thoại", max_length=32, blank=True)
    received_at = models.DateTimeField("thời điểm tiếp nhận")
    due_at = models.DateTimeField("hẹn trả kết quả")
    resolved_at = models.DateTimeField("thời điểm có kết quả", null=True, blank=True)
    status = models.CharField(
        "trạng thái", max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    paused_at = models.DateTimeField(
        "tạm dừng tính thời gian từ",
        null=True,
        blank=True,
        help_text="Khi chờ công dân bổ sung giấy tờ, thời hạn không chạy.",
    )
    paused_days_left = models.PositiveIntegerField(
        "số ngày làm việc còn lại khi tạm dừng", null=True, blank=True
    )
    warned_due_at = models.DateTimeField(
        "đã báo sắp trễ cho hạn", null=True, blank=True, editable=False
    )
    secret_hash = models.CharField("băm mã tra cứu", max_length=64, editable=False)
    created_at = models.DateTimeField("tạo lúc", auto_now_add=True)

    class Meta:
        verbose_name = "hồ sơ"
        verbose_name_plural = "hồ sơ"
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["office", "status"]),
            # the statistics (``backoffice.services.statistics_store``): a month's dossiers by
            # receipt, resolution and due moment; the open ones, longest overdue first
            models.Index(fields=["received_at"], name="dossiers_received_idx"),
            models.Index(fields=["resolved_at"], name="dossiers_resolved_idx"),
            models.Index(fields=["due_at"], name="dossiers_due_idx"),
            models.Index(
                fields=["due_at", "office"],
                condition=models.Q(resolved_at__isnull=True),
                name="dossiers_open_due_idx",
            ),
            # the few resolved or due before they were received, which no month stores
            models.Index(
                fields=["received_at"],
                condition=models.Q(resolved_at__lt=models.F("received_at"))
                | models.Q(due_at__lt=models.F("received_at")),
                name="dossiers_odd_moments_idx",
            ),
        ]

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
    """Where a document is in the pipeline; shown everywhere by its label, never its value."""

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

    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="documents", verbose_name="hồ sơ"
    )
    state = models.CharField(
        "trạng thái", max_length=24, choices=DocumentState.choices, default=DocumentState.RECEIVED
    )
    state_changed_at = models.DateTimeField(
        "đổi trạng thái lúc", default=timezone.now, db_index=True
    )
    source_dir = models.CharField("thư mục bản gốc", max_length=1024)
    source_sha256 = models.CharField("SHA-256 bản quét", max_length=64, db_index=True)
    page_count = models.PositiveIntegerField("số trang", default=0)
    text = models.TextField("nội dung nhận dạng", blank=True)
    text_folded = models.TextField(
        "nội dung không dấu (để tìm kiếm)",
        blank=True,
        editable=False,
        help_text="Nội dung nhận dạng bỏ dấu, chữ thường; tự cập nhật khi nội dung thay đổi.",
    )
    mean_confidence = models.FloatField("độ tin cậy nhận dạng (%)", null=True, blank=True)
    pdf_path = models.CharField("tệp PDF/A", max_length=1024, blank=True)
    pdf_sha256 = models.CharField("SHA-256 tệp PDF/A", max_length=64, blank=True)
    signed_path = models.CharField("tệp đã ký số", max_length=1024, blank=True)
    signed_sha256 = models.CharField(
        "SHA-256 tệp đã ký số", max_length=64, blank=True, db_index=True
    )
    verify_code = models.CharField(
        "mã kiểm tra",
        max_length=32,
        unique=True,
        default=new_verify_code,
        editable=False,
        help_text="Mã ngẫu nhiên trong mã QR của chữ ký: mở trang kiểm tra của chính tài liệu.",
    )
    reason = models.TextField("lý do", blank=True)
    created_at = models.DateTimeField("tạo lúc", auto_now_add=True)

    class Meta:
        verbose_name = "tài liệu"
        verbose_name_plural = "tài liệu"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "state_changed_at"]),
            # the statistics: whether a dossier has a signed result, from the index alone
            models.Index(
                fields=["dossier"],
                condition=models.Q(
                    state__in=[
                        DocumentState.SIGNED,
                        DocumentState.PUBLISHED,
                        DocumentState.DELIVERED,
                    ]
                ),
                name="dossiers_document_signed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dossier.code} #{self.pk}"


class Event(models.Model):
    """An audit record: what happened to a dossier or document, when and by whom."""

    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="events", verbose_name="hồ sơ"
    )
    document = models.ForeignKey(
        Document,
        on_delete=models.PROTECT,
        related_name="events",
        null=True,
        blank=True,
        verbose_name="tài liệu",
    )
    kind = models.CharField("sự kiện", max_length=64)
    from_state = models.CharField("từ trạng thái", max_length=24, blank=True)
    to_state = models.CharField("sang trạng thái", max_length=24, blank=True)
    actor = models.CharField("người thực hiện", max_length=150, blank=True)
    detail = models.JSONField("chi tiết", default=dict, blank=True)
    at = models.DateTimeField("lúc", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "sự kiện"
        verbose_name_plural = "nhật ký sự kiện"
        ordering = ["at", "pk"]
        # the statistics' supplement requests, transfers and apologies of a month
        indexes = [models.Index(fields=["kind", "at"], name="dossiers_event_kind_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%d/%m/%Y %H:%M} {self.words}"

    @property
    def words(self) -> str:
        """What happened, as a Vietnamese phrase (:func:`event_words`)."""
        return event_words(self.kind)


EVENT_WORDS: dict[str, str] = {
    "registered": "Tiếp nhận hồ sơ",
    "secret_reissued": "Cấp lại mã tra cứu",
    "scans_received": "Nhận bản quét",
    "resubmitted": "Nộp lại bản quét đã sửa",
    "supplement_requested": "Yêu cầu bổ sung hồ sơ",
    "digitize_started": "Bắt đầu số hóa",
    "digitized": "Số hóa xong, chờ phê duyệt",
    "failed": "Lỗi xử lý, chuyển vào thư mục lỗi",
    "approved": "Phê duyệt",
    "rejected": "Từ chối",
    "sign_refused": "Không ký: tệp đã thay đổi sau khi phê duyệt",
    "stamp_adjusted": "Dời ô chữ ký cho vừa trang",
    "signed": "Ký số",
    "auto_sign_planned": "Đưa vào ký tự động",
    "auto_sign_unavailable": "Không ký tự động được, chuyển lãnh đạo ký",
    "auto_sign_failed": "Ký tự động lỗi",
    "auto_sign_handed_over": "Chuyển từ ký tự động sang lãnh đạo ký duyệt",
    "published": "Trả kết quả",
    "resolved": "Hồ sơ có kết quả",
    "delivered": "Đã gửi kết quả cho công dân",
    "delivery_failed": "Gửi tin cho công dân lỗi",
    "delivery_resent": "Gửi lại tin cho công dân",
    "lookup_guessing": "Nhiều lần tra cứu sai mã (nghi dò mã)",
    "processing_started": "Chuyển hồ sơ sang giải quyết",
    "papers_completed": "Công dân đã bổ sung đủ giấy tờ, tính tiếp thời hạn",
    "transferred": "Chuyển hồ sơ liên thông sang cơ quan khác",
    "transfer_returned": "Cơ quan liên thông chuyển trả hồ sơ",
    "dossier_refused": "Từ chối giải quyết hồ sơ",
    "dossier_stopped": "Dừng giải quyết hồ sơ",
    "withdrawn": "Công dân rút hồ sơ",
    "returned_to_citizen": "Trả kết quả cho công dân",
    "due_soon": "Hồ sơ sắp đến hạn trả kết quả",
    "due_moved": "Hẹn lại ngày trả kết quả",
    "letter_drafted": "Soạn văn bản gửi công dân",
    "letter_approved": "Duyệt nội dung văn bản gửi công dân",
    "letter_edited": "Sửa nội dung văn bản gửi công dân",
    "letter_signed": "Ký số văn bản gửi công dân",
    "letter_sent": "Gửi văn bản cho công dân",
    "apology_issued": "Ban hành văn bản xin lỗi công dân",
}
"""Every ``Event.kind`` the code records, as the phrase people read (admin, back office)."""


def event_words(kind: str) -> str:
    """The Vietnamese phrase for an event kind; an unknown kind says so and keeps its name."""
    return EVENT_WORDS.get(kind) or f"Sự kiện khác ({kind})"


def state_words(state: str) -> str:
    """A document state's label ("Chờ phê duyệt"), or the stored text when it is no state.

    An event's ``from_state`` may list several states separated by commas (a transition
    allowed from any of them); each is named.
    """
    if not state:
        return ""
    labels = dict(DocumentState.choices)
    return ", ".join(str(labels.get(part, part)) for part in state.split(","))
