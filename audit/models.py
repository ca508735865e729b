"""The audit trail's tables: the entries, chained by hash, and the head row that orders appends."""

from __future__ import annotations

from django.db import models

from audit.chain import GENESIS, Entry

__all__ = ["Action", "AuditEntry", "AuditHead"]


class Action(models.TextChoices):
    """What a person (or the service on their behalf) did."""

    VIEWED = "viewed", "Xem"
    DOWNLOADED = "downloaded", "Tải về"
    APPROVED = "approved", "Phê duyệt"
    REJECTED = "rejected", "Từ chối"
    SIGNED = "signed", "Ký số"
    EXPORTED = "exported", "Xuất dữ liệu"
    CONFIG_CHANGED = "config_changed", "Thay đổi cấu hình"
    SIGNED_IN = "signed_in", "Đăng nhập"
    SIGN_IN_FAILED = "sign_in_failed", "Đăng nhập không thành công"
    SIGNED_OUT = "signed_out", "Đăng xuất"
    SECRET_REISSUED = "secret_reissued", "Cấp lại mã tra cứu"
    REGISTERED = "registered", "Tiếp nhận hồ sơ"


class AuditEntry(models.Model):
    """One entry of the trail. Never updated or deleted: ``motcua audit verify`` would say so.

    No foreign keys: a deleted user or office must not change (or cascade into) the trail,
    so ids are kept as plain numbers beside the username.
    """

    seq = models.PositiveBigIntegerField("số thứ tự", unique=True)
    at = models.DateTimeField("thời điểm", db_index=True)
    username = models.CharField("người thực hiện", max_length=150, blank=True)
    user_id = models.BigIntegerField("mã tài khoản", null=True, blank=True)
    office_id = models.BigIntegerField("mã cơ quan", null=True, blank=True)
    action = models.CharField("hành động", max_length=32, choices=Action.choices)
    object_type = models.CharField("loại đối tượng", max_length=100, blank=True)
    object_id = models.CharField("mã đối tượng", max_length=64, blank=True)
    sha256 = models.CharField("SHA-256 tài liệu", max_length=64, blank=True)
    client_address = models.CharField("địa chỉ truy cập", max_length=64, blank=True)
    detail = models.JSONField("chi tiết", default=dict, blank=True)
    prev_hash = models.CharField("mã băm mục trước", max_length=64)
    hash = models.CharField("mã băm", max_length=64)

    class Meta:
        verbose_name = "mục nhật ký kiểm toán"
        verbose_name_plural = "nhật ký kiểm toán"
        ordering = ("-seq",)
        indexes = [models.Index(fields=("object_type", "object_id"), name="audit_object")]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_action_display()} {self.username}".strip()

    def as_link(self) -> Entry:
        """The entry as the chain hashes it (:mod:`audit.chain`)."""
        return Entry(
            seq=self.seq,
            at=self.at,
            action=self.action,
            username=self.username,
            user_id=self.user_id,
            office_id=self.office_id,
            object_type=self.object_type,
            object_id=self.object_id,
            sha256=self.sha256,
            client_address=self.client_address,
            detail=self.detail,
            prev_hash=self.prev_hash,
            hash=self.hash,
        )


class AuditHead(models.Model):
    """The one row (id 1) naming the last entry; appends lock it, so they queue in order."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)

    class Meta:
        verbose_name = "đầu chuỗi nhật ký"
        verbose_name_plural = "đầu chuỗi nhật ký"
        default_permissions = ()

    def __str__(self) -> str:
        return f"#{self.seq}"
