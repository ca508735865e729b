"""The outbox of messages owed to citizens, the SMS templates, and citizens' ratings."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dossiers.models import Document, Dossier, Letter


class Message(models.Model):
    """An email or SMS owed to one recipient: claimed with a lease (``claimed_until``) before
    it is sent, marked SENT once the server accepted it (``publishing.services.outbox``)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Thư điện tử"
        SMS = "sms", "Tin nhắn SMS"

    class State(models.TextChoices):
        PENDING = "pending", "Chờ gửi"
        SENT = "sent", "Đã gửi"
        FAILED = "failed", "Gửi lỗi"

    channel = models.CharField("kênh", max_length=8, choices=Channel.choices)
    recipient = models.CharField("người nhận", max_length=254)
    state = models.CharField(
        "trạng thái", max_length=8, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField("số lần gửi", default=0)
    last_error = models.CharField("lỗi lần gửi cuối", max_length=200, blank=True)
    next_attempt_at = models.DateTimeField("gửi lần tới", default=timezone.now)
    claimed_until = models.DateTimeField("đang gửi đến", null=True, blank=True)
    claimed_by = models.CharField("tiến trình đang gửi", max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField("tạo lúc", auto_now_add=True)
    sent_at = models.DateTimeField("gửi được lúc", null=True, blank=True)

    class Meta:
        abstract = True


class OutboxMessage(Message):
    """An email or SMS owed to one recipient for a published document, written in the
    transaction that publishes (``publishing.services.delivery``)."""

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="outbox", verbose_name="tài liệu"
    )

    class Meta:
        verbose_name = "tin gửi công dân"
        verbose_name_plural = "hộp thư đi"
        constraints = [
            models.UniqueConstraint(
                fields=["document", "channel", "recipient"], name="one_message_per_recipient"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} (tài liệu {self.document_id})"


class LetterMessage(Message):
    """An email or SMS owed to the citizen for a signed letter (forms 02–05), sent under a
    lease and retried as results are (``publishing.services.letter_delivery``)."""

    letter = models.ForeignKey(
        Letter, on_delete=models.PROTECT, related_name="outbox", verbose_name="văn bản"
    )

    class Meta:
        verbose_name = "tin gửi văn bản cho công dân"
        verbose_name_plural = "hộp thư đi (văn bản)"
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "channel", "recipient"], name="one_letter_message_per_recipient"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="letter_message_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} (văn bản {self.letter_id})"


class SmsTemplate(models.Model):
    """The administrator's wording of one kind of SMS, unaccented, fitting one GSM-7 part.

    Without a row the default in code is used (``publishing.services.delivery_sms``).
    """

    class Purpose(models.TextChoices):
        RESULT_READY = "result_ready", "Đã có kết quả"
        LETTER = "letter", "Văn bản gửi công dân (xin lỗi, bổ sung, từ chối)"

    purpose = models.CharField("loại tin", max_length=32, choices=Purpose.choices, unique=True)
    text = models.TextField(
        "mẫu tin",
        max_length=320,
        help_text="Chữ không dấu (bảng GSM-7). Chỗ điền: {office} tên cơ quan (tự rút gọn), "
        "{code} mã hồ sơ, {link} đường dẫn đánh giá, {lookup} đường dẫn tra cứu. "
        "Bản dài nhất phải vừa một tin 160 ký tự.",
    )
    updated_at = models.DateTimeField("sửa lúc", auto_now=True)

    class Meta:
        verbose_name = "mẫu tin nhắn SMS"
        verbose_name_plural = "mẫu tin nhắn SMS"

    def __str__(self) -> str:
        return self.get_purpose_display()


class Rating(models.Model):
    """A citizen's rating of how their dossier was handled: once per dossier."""

    class Score(models.TextChoices):
        VERY_SATISFIED = "very_satisfied", _("Rất hài lòng")
        SATISFIED = "satisfied", _("Hài lòng")
        UNSATISFIED = "unsatisfied", _("Không hài lòng")

    dossier = models.OneToOneField(
        Dossier, on_delete=models.PROTECT, related_name="rating", verbose_name="hồ sơ"
    )
    score = models.CharField("mức độ hài lòng", max_length=16, choices=Score.choices)
    comment = models.TextField("góp ý", max_length=500, blank=True)
    created_at = models.DateTimeField("đánh giá lúc", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "đánh giá của công dân"
        verbose_name_plural = "đánh giá của công dân"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.dossier} — {self.get_score_display()}"
