"""A dossier's life: timed hand-offs between offices and people, and the one-stop letters."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from dossiers.models.offices import Office
from dossiers.models.records import Dossier


class StepKind(models.TextChoices):
    """What a step of the dossier is: who holds it and for what."""

    RECEPTION = "reception", "Tiếp nhận tại bộ phận một cửa"
    PROCESSING = "processing", "Giải quyết tại cơ quan"
    SUPPLEMENT = "supplement", "Chờ công dân bổ sung (tạm dừng tính thời gian)"
    TRANSFER = "transfer", "Liên thông sang cơ quan khác"
    RETURN = "return", "Trả kết quả cho công dân"


class DossierStep(models.Model):
    """One hand-off of a dossier: which office (and person) held it, from when to when,
    by when it was due there, and whether it left early, on time or late."""

    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="steps", verbose_name="hồ sơ"
    )
    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="dossier_steps", verbose_name="cơ quan"
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="người xử lý",
    )
    kind = models.CharField("bước", max_length=16, choices=StepKind.choices)
    started_at = models.DateTimeField("bắt đầu", default=timezone.now)
    ended_at = models.DateTimeField("kết thúc", null=True, blank=True)
    due_at = models.DateTimeField("hạn của bước", null=True, blank=True)
    outcome = models.CharField(
        "kết quả bước",
        max_length=16,
        blank=True,
        help_text="early, on_time hoặc late khi bước kết thúc và có hạn.",
    )
    note = models.TextField("lý do, ghi chú", blank=True)
    actor = models.CharField("người chuyển", max_length=150, blank=True)

    class Meta:
        verbose_name = "bước xử lý hồ sơ"
        verbose_name_plural = "các bước xử lý hồ sơ"
        ordering = ["started_at", "pk"]
        indexes = [models.Index(fields=["dossier", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.kind} @ {self.office_id}"


class LetterForm(models.TextChoices):
    """The one-stop forms motcua drafts (numbers of Circular 03/2025/TT-VPCP)."""

    SUPPLEMENT = "02", "Mẫu 02 — Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"
    REFUSAL = "03", "Mẫu 03 — Phiếu từ chối tiếp nhận giải quyết hồ sơ"
    APOLOGY = "04", "Mẫu 04 — Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"
    STOP = "05", "Mẫu 05 — Thông báo dừng giải quyết hồ sơ"


class Regime(models.TextChoices):
    """Which rules a dossier follows, by the day it was received."""

    DECREE_61 = "2018", "Nghị định 61/2018/NĐ-CP (trước 01/7/2025)"
    DECREE_118 = "2025", "Nghị định 118/2025/NĐ-CP (từ 01/7/2025)"


class LetterTemplate(models.Model):
    """An administrator's wording of one form under one regime; ``$name`` fills in."""

    form = models.CharField("mẫu", max_length=2, choices=LetterForm.choices)
    regime = models.CharField("quy định", max_length=4, choices=Regime.choices)
    title = models.CharField("tiêu đề", max_length=255)
    body = models.TextField(
        "nội dung",
        help_text=(
            "Mỗi đoạn một dòng. Được dùng: $office, $applicant, $code, $procedure, $field, "
            "$received, $due, $new_due, $reason, $extra_days, $today."
        ),
    )
    recipients = models.TextField("nơi nhận", help_text="Mỗi nơi nhận một dòng.")
    updated_at = models.DateTimeField("sửa lúc", auto_now=True)

    class Meta:
        verbose_name = "mẫu văn bản một cửa"
        verbose_name_plural = "mẫu văn bản một cửa"
        constraints = [
            models.UniqueConstraint(fields=["form", "regime"], name="one_template_per_form")
        ]

    def __str__(self) -> str:
        return f"{self.get_form_display()} ({self.get_regime_display()})"


class Letter(models.Model):
    """A letter to the citizen (forms 02–05): drafted, reviewed, signed by the head, sent."""

    class State(models.TextChoices):
        DRAFT = "draft", "Dự thảo"
        APPROVED = "approved", "Đã duyệt nội dung"
        SIGNED = "signed", "Đã ký số"
        SENT = "sent", "Đã gửi công dân"
        CANCELLED = "cancelled", "Đã hủy"

    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="letters", verbose_name="hồ sơ"
    )
    form = models.CharField("mẫu", max_length=2, choices=LetterForm.choices)
    regime = models.CharField("quy định", max_length=4, choices=Regime.choices)
    number = models.CharField("số văn bản", max_length=64, blank=True)
    title = models.CharField("tiêu đề", max_length=255)
    text = models.TextField("nội dung")
    recipients = models.TextField("nơi nhận", blank=True)
    reason = models.TextField("lý do", blank=True)
    late_due_at = models.DateTimeField(
        "hạn đã trễ", null=True, blank=True, help_text="Hạn mà văn bản xin lỗi này trả lời."
    )
    new_due_at = models.DateTimeField("hẹn lại ngày trả", null=True, blank=True)
    extra_days = models.PositiveIntegerField("số ngày làm việc gia hạn", null=True, blank=True)
    state = models.CharField("trạng thái", max_length=16, choices=State.choices, default="draft")
    pdf_path = models.CharField("tệp PDF/A", max_length=1024, blank=True)
    signed_path = models.CharField("tệp đã ký số", max_length=1024, blank=True)
    signed_sha256 = models.CharField("SHA-256 tệp đã ký", max_length=64, blank=True)
    drafted_by = models.CharField("người soạn", max_length=150, blank=True)
    signed_by = models.CharField("người ký", max_length=150, blank=True)
    created_at = models.DateTimeField("soạn lúc", default=timezone.now)
    signed_at = models.DateTimeField("ký lúc", null=True, blank=True)
    sent_at = models.DateTimeField("gửi lúc", null=True, blank=True)

    class Meta:
        verbose_name = "văn bản gửi công dân"
        verbose_name_plural = "văn bản gửi công dân"
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier", "form", "late_due_at"],
                condition=models.Q(form="04"),
                name="one_apology_per_missed_due",
            )
        ]
        # the signed letters the delivery recovery looks at (letters_owed in publishing)
        indexes = [models.Index(fields=["state", "signed_at"], name="letter_state_signed_idx")]

    def __str__(self) -> str:
        return f"{self.get_form_display()} — {self.dossier_id}"
