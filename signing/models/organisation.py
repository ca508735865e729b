"""The office's organisation key, its automatic-signing policies and their records."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models

from dossiers.models import Document, Office, Procedure
from dossiers.models.leases import Leased
from signing.models.signers import Signer, clean_fingerprint


class OrganisationKey(models.Model):
    """An office's organisation certificate, with which the service alone signs automatically.

    The passphrase stays in a file only the service's account may read; the
    database holds its path, never the passphrase.
    """

    office = models.OneToOneField(
        Office, on_delete=models.PROTECT, related_name="organisation_key", verbose_name="cơ quan"
    )
    pkcs12_path = models.CharField(
        "tệp khóa PKCS#12 của tổ chức",
        max_length=1024,
        help_text="Đường dẫn tuyệt đối trên máy chạy hàng đợi ký (sign).",
    )
    passphrase_file = models.CharField(
        "tệp mật khẩu của khóa",
        max_length=1024,
        help_text="Đường dẫn tuyệt đối. Tệp phải thuộc tài khoản chạy dịch vụ và chỉ tài khoản "
        "đó đọc được (chmod 600 hoặc 400); mật khẩu không bao giờ lưu trong cơ sở dữ liệu.",
    )
    cert_sha256 = models.CharField(
        "dấu vân tay SHA-256 của chứng thư số",
        max_length=100,
        blank=True,
        help_text="64 chữ số hex (cho phép dấu hai chấm). Để trống thì tên (CN) trong chứng thư "
        "phải trùng tên cơ quan.",
    )
    active = models.BooleanField("đang dùng", default=True)

    class Meta:
        verbose_name = "khóa ký của tổ chức"
        verbose_name_plural = "khóa ký của tổ chức"

    def __str__(self) -> str:
        return f"Khóa tổ chức — {self.office.code}"

    def clean(self) -> None:
        """Refuse relative paths, a malformed fingerprint and an official's own key.

        The fingerprint is stored as bare hex. The certificate itself is checked
        again when signing (its file may only be readable on the signing machine).
        """
        errors: dict[str, str] = {}
        for name in ("pkcs12_path", "passphrase_file"):
            value = getattr(self, name).strip()
            setattr(self, name, value)
            if not Path(value).is_absolute():
                errors[name] = "Cần đường dẫn tuyệt đối (bắt đầu bằng /)."
        self.cert_sha256 = clean_fingerprint(self.cert_sha256, errors)
        officials = officials_key_reasons(
            fingerprint="" if "cert_sha256" in errors else self.cert_sha256,
            subject="",
            pkcs12_path=self.pkcs12_path,
        )
        for name, reason in officials.items():
            errors.setdefault(name, reason)
        if errors:
            raise ValidationError(errors)


def _fold(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def officials_key_reasons(*, fingerprint: str, subject: str, pkcs12_path: str) -> dict[str, str]:
    """Why an organisation key is an official's own key, by field; empty when it is not.

    The service must never sign as an official: a certificate whose SHA-256
    fingerprint an official registered, whose common name is an official's name,
    or a key file an official's account points at, is refused (messages in Vietnamese).
    """
    reasons: dict[str, str] = {}
    wanted = clean_fingerprint(fingerprint, {}) if fingerprint else ""
    path = os.path.realpath(pkcs12_path) if pkcs12_path.strip() else ""
    folded = _fold(subject) if subject.strip() else ""
    for signer_fp, signer_path, name in Signer.objects.values_list(
        "cert_sha256", "pkcs12_path", "display_name"
    ):
        if wanted and signer_fp.strip() and clean_fingerprint(signer_fp, {}) == wanted:
            reasons["cert_sha256"] = (
                "Chứng thư số này là chứng thư cá nhân của người ký (lãnh đạo); khóa tổ chức "
                "phải là chứng thư của cơ quan."
            )
        if folded and _fold(name) == folded:
            reasons.setdefault(
                "cert_sha256",
                f"Chứng thư số mang tên người ký {name}; khóa tổ chức phải là chứng thư của "
                "cơ quan.",
            )
        if path and signer_path.strip() and os.path.realpath(signer_path) == path:
            reasons["pkcs12_path"] = (
                "Tệp khóa này là khóa cá nhân của người ký (lãnh đạo); dịch vụ không được ký thay "
                "người ký."
            )
    return reasons


def refuse_officials_key(*, fingerprint: str, subject: str, pkcs12_path: str) -> str:
    """The Vietnamese reason an organisation key is an official's own key, or "" when not."""
    return " ".join(
        officials_key_reasons(
            fingerprint=fingerprint, subject=subject, pkcs12_path=pkcs12_path
        ).values()
    )


class AutoSignPolicy(models.Model):
    """Whether an office's digitized papers are signed automatically with its organisation key.

    A row without a procedure covers the office's inbox (every procedure); a row
    for one procedure overrides it either way, so one procedure can be signed
    automatically, or kept for the officials, whatever the office's row says.
    """

    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="auto_sign_policies", verbose_name="cơ quan"
    )
    procedure = models.ForeignKey(
        Procedure,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="auto_sign_policies",
        verbose_name="thủ tục",
        help_text="Để trống: mọi thủ tục của cơ quan (cả thư mục nhận bản quét của cơ quan).",
    )
    enabled = models.BooleanField(
        "ký tự động bằng khóa tổ chức",
        default=True,
        help_text="Bỏ chọn ở một thủ tục để giữ thủ tục đó cho lãnh đạo ký duyệt.",
    )

    class Meta:
        verbose_name = "chính sách ký tự động"
        verbose_name_plural = "chính sách ký tự động"
        constraints = [
            models.UniqueConstraint(
                fields=["office", "procedure"], name="one_auto_sign_policy_per_procedure"
            ),
            models.UniqueConstraint(
                fields=["office"],
                condition=models.Q(procedure__isnull=True),
                name="one_auto_sign_policy_per_office",
            ),
        ]

    def __str__(self) -> str:
        scope = self.procedure.code if self.procedure is not None else "mọi thủ tục"
        return f"{self.office.code} / {scope}: {'ký tự động' if self.enabled else 'lãnh đạo ký'}"

    @classmethod
    def applies(cls, office_id: int, procedure_id: int) -> bool:
        """Tell whether a document of this office and procedure is to be signed automatically."""
        rows = dict(
            cls.objects.filter(office=office_id)
            .filter(models.Q(procedure=procedure_id) | models.Q(procedure__isnull=True))
            .values_list("procedure", "enabled")
        )
        return bool(rows.get(procedure_id, rows.get(None, False)))

    def clean(self) -> None:
        """Refuse a procedure of another office, and automatic signing the office cannot do."""
        errors: dict[str, str] = {}
        procedure = self.procedure if self.procedure_id else None
        if procedure is not None and procedure.office_id != self.office_id:
            errors["procedure"] = "Thủ tục này không thuộc cơ quan đã chọn."
        elif procedure is not None and self.enabled and procedure.stamp_layout == "personal":
            errors["procedure"] = (
                "Thủ tục này dùng mẫu chữ ký cá nhân (ảnh chữ ký của lãnh đạo); khóa tổ chức "
                "không ký tự động được."
            )
        if (
            self.enabled
            and self.office_id
            and not OrganisationKey.objects.filter(office=self.office_id, active=True).exists()
        ):
            errors["enabled"] = "Cơ quan chưa có khóa ký của tổ chức đang dùng; hãy khai báo trước."
        if errors:
            raise ValidationError(errors)


class AutoSignature(Leased):
    """The service's approval of one document under its office's organisation key, and its outcome.

    Like an official's approval it records who (the organisation certificate),
    when and the SHA-256 approved; the bytes signed are the bytes hashed. While
    unsigned it says why (``last_error``) and when it is tried again.
    """

    document = models.OneToOneField(
        Document, on_delete=models.PROTECT, related_name="auto_signature", verbose_name="tài liệu"
    )
    organisation_key = models.ForeignKey(
        OrganisationKey,
        on_delete=models.PROTECT,
        related_name="signatures",
        verbose_name="khóa tổ chức",
    )
    created_at = models.DateTimeField("đưa vào ký tự động lúc", auto_now_add=True)
    approved_at = models.DateTimeField("phê duyệt tự động lúc", null=True, blank=True)
    approved_sha256 = models.CharField("SHA-256 đã phê duyệt", max_length=64, blank=True)
    certificate_sha256 = models.CharField("dấu vân tay chứng thư đã ký", max_length=64, blank=True)
    certificate_subject = models.CharField("chủ thể chứng thư", max_length=255, blank=True)
    signed_at = models.DateTimeField("ký xong lúc", null=True, blank=True)
    signed_sha256 = models.CharField("SHA-256 tệp đã ký", max_length=64, blank=True)
    attempts = models.PositiveIntegerField("số lần thử", default=0)
    running_since = models.DateTimeField("đang ký từ", null=True, blank=True)
    retry_at = models.DateTimeField("thử lại lúc", null=True, blank=True, db_index=True)
    last_error = models.TextField("lỗi lần gần nhất", blank=True)
    handed_over_at = models.DateTimeField("chuyển lãnh đạo ký duyệt lúc", null=True, blank=True)

    class Meta:
        verbose_name = "chữ ký tự động"
        verbose_name_plural = "chữ ký tự động"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Ký tự động #{self.document_id}"
