"""Watched folders (where scans arrive, and how) and intakes: what was claimed from them."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from dossiers.models import Document, Office, Procedure
from watch_folders import layouts


def output_folders() -> dict[str, Path]:
    """The folders motcua writes into, by their Vietnamese name: none may be watched."""
    data = Path(settings.DATA_DIR)
    return {
        "lưu trữ tiếp nhận": Path(settings.INTAKE_DIR),
        "bản quét lỗi": Path(settings.FAILED_DIR),
        "xử lý tạm": Path(settings.WORK_DIR),
        "kho tài liệu": Path(settings.STORE_DIR),
        "thư đi": Path(settings.OUTBOX_DIR),
        "giấy hẹn": data / "receipts",
        "nhật ký": Path(settings.LOG_DIR),
    }


class WatchedFolder(models.Model):
    """A folder the watcher takes scans from, for one office, with its layout."""

    class Kind(models.TextChoices):
        INCOMING = layouts.INCOMING, "Hồ sơ giấy đến, cần số hóa"
        RESULTS = layouts.RESULTS, "Kết quả cần ký số (chỉ ghi nhận, chưa tự nhận)"

    class Layout(models.TextChoices):
        FOLDERS = layouts.DOSSIER_FOLDERS, "Mỗi hồ sơ một thư mục (tên thư mục là mã hồ sơ)"
        LOOSE = layouts.LOOSE_FILES, "Tệp rời theo mẫu tên (ví dụ HS-0001_1.jpg)"
        BATCHES = layouts.SCANNER_BATCHES, "Lô quét từ máy quét (tách theo giấy tiếp nhận)"

    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="watched_folders", verbose_name="cơ quan"
    )
    path = models.CharField(
        "đường dẫn thư mục",
        max_length=1024,
        blank=True,
        help_text="Đường dẫn tuyệt đối trên máy chủ (ví dụ /mnt/may-quet/xa-tan-lap). Để trống: "
        "thư mục tiếp nhận mặc định inbox/<mã cơ quan>/.",
    )
    procedure = models.ForeignKey(
        Procedure,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="thủ tục mặc định",
        help_text="Thủ tục của hồ sơ đăng ký từ tệp dossier.json không ghi thủ tục.",
    )
    kind = models.CharField(
        "loại", max_length=16, choices=Kind.choices, default=Kind.INCOMING,
        help_text="Thư mục kết quả cần ký mới chỉ được ghi nhận: máy theo dõi chưa nhận từ đó.",
    )  # fmt: skip
    layout = models.CharField(
        "cách sắp xếp", max_length=16, choices=Layout.choices, default=Layout.FOLDERS
    )
    file_pattern = models.CharField(
        "mẫu tên tệp rời",
        max_length=128,
        default=layouts.DEFAULT_PATTERN,
        help_text="Cho cách sắp xếp “tệp rời”: <code> là mã hồ sơ, <n> là số trang, <ext> là "
        "phần mở rộng. Mặc định <code>_<n>.<ext>.",
    )
    polling = models.BooleanField(
        "luôn dò định kỳ",
        default=False,
        help_text="Thư mục chia sẻ mạng (SMB, NFS) được tự nhận ra khi khởi động và dò định kỳ; "
        "đánh dấu ô này để luôn dò định kỳ.",
    )
    settle_seconds = models.PositiveIntegerField(
        "thời gian chờ ổn định (giây)",
        null=True,
        blank=True,
        help_text="Hồ sơ được nhận khi các tệp không đổi trong khoảng này. Để trống: theo "
        "cấu hình máy chủ.",
    )
    active = models.BooleanField("đang theo dõi", default=True)

    class Meta:
        verbose_name = "thư mục theo dõi"
        verbose_name_plural = "thư mục theo dõi"
        ordering = ["office__code", "pk"]

    def __str__(self) -> str:
        return f"{self.office.code}: {self.folder}"

    @property
    def folder(self) -> Path:
        """The folder watched: the path given, or the office's default inbox folder."""
        return Path(self.path) if self.path else Path(settings.INBOX_DIR) / self.office.code

    def clean(self) -> None:
        """Refuse a relative path, a bad pattern, or a procedure of another office."""
        errors: dict[str, str] = {}
        if self.path and not Path(self.path).is_absolute():
            errors["path"] = "Cần đường dẫn tuyệt đối, bắt đầu bằng /."
        try:
            layouts.LoosePattern(self.file_pattern)
        except ValueError as exc:
            errors["file_pattern"] = str(exc)
        if self.office_id and not errors:
            problems = layouts.overlaps([self.folder], output_folders())
            if problems:
                errors["path"] = " ".join(problems)
        procedure = self.procedure if self.procedure_id else None
        if procedure is not None and self.office_id and procedure.office_id != self.office_id:
            errors["procedure"] = "Thủ tục phải thuộc cơ quan của thư mục."
        if errors:
            raise ValidationError(errors)


class Intake(models.Model):
    """One claimed inbox folder and what became of it."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Đã nhận"
        DUPLICATE = "duplicate", "Trùng lặp"
        REFUSED = "refused", "Không hợp lệ"

    office_code = models.CharField("mã cơ quan", max_length=64)
    dossier_code = models.CharField("mã hồ sơ", max_length=64, blank=True)
    folder_name = models.CharField("tên thư mục", max_length=255)
    path = models.CharField("nơi lưu bản quét", max_length=1024)
    files = models.JSONField("các tệp", default=list)
    sha256 = models.CharField("SHA-256 bản quét", max_length=64, db_index=True)
    outcome = models.CharField("kết quả", max_length=16, choices=Outcome.choices)
    reason = models.TextField("lý do", blank=True)
    document = models.OneToOneField(
        Document,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="intake",
        verbose_name="tài liệu",
    )
    claimed_at = models.DateTimeField("nhận lúc", auto_now_add=True)
    claim_id = models.CharField(
        "mã lượt nhận",
        max_length=32,
        blank=True,
        db_index=True,
        help_text="Chung cho các dòng của một lượt nhận (một lô quét tách thành nhiều hồ sơ).",
    )
    pages = models.CharField(
        "các trang trong lô", max_length=255, blank=True, help_text="Ví dụ 3–7 (lô quét)."
    )

    class Meta:
        verbose_name = "lượt tiếp nhận"
        verbose_name_plural = "lượt tiếp nhận"
        ordering = ["-claimed_at"]

    def __str__(self) -> str:
        return f"{self.office_code}/{self.folder_name}"
