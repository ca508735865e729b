"""Signers: officials and their keys, and what an office's signatures carry."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import models

from dossiers.models import Office
from signing.errors import CertificateError
from signing.keys.config import TokenConfig, parse_fingerprint_sha256


def clean_fingerprint(value: str, errors: dict[str, str]) -> str:
    """A fingerprint as bare lowercase hex ("" for none); a bad one goes into ``errors``."""
    if not value.strip():
        return ""
    try:
        return parse_fingerprint_sha256(value)
    except CertificateError as exc:
        errors["cert_sha256"] = exc.message_vi
        return value


STAMP_IMAGE_MAX_BYTES = 1024 * 1024
"""The largest signature or seal image an administrator may upload (the admin's request
bodies stop at ``REQUEST_BODY_MAX_BYTES``, 2 MB)."""
STAMP_IMAGE_MIN_PX = (60, 30)
"""Smallest width and height in pixels: below it a signature prints as a smudge."""
STAMP_IMAGE_MAX_PX = 4000
"""Largest width or height in pixels (the stamp scales images down to a few hundred)."""
STAMP_IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg"}
"""The image formats accepted for signatures and seals, with the extension they are stored under."""
STAMP_IMAGE_DIR = "chu-ky"
"""The folder under ``MEDIA_ROOT`` where signature and seal images are stored."""


def _stamp_image_name(kind: str, filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    suffix = ".jpg" if suffix == ".jpeg" else suffix
    if suffix not in STAMP_IMAGE_FORMATS.values():
        suffix = ".png"
    return f"{STAMP_IMAGE_DIR}/{kind}-{uuid.uuid4().hex}{suffix}"


def signature_upload_to(instance: Signer, filename: str) -> str:
    """A signature image's name in the media store: random, never the uploader's file name."""
    return _stamp_image_name("chu-ky", filename)


def seal_upload_to(instance: Signer, filename: str) -> str:
    """A seal image's name in the media store: random, never the uploader's file name."""
    return _stamp_image_name("con-dau", filename)


def stamp_image_path(name: str) -> Path | None:
    """Where a stored signature or seal image is on disk, or None when there is none.

    An uploaded image's name is relative to ``MEDIA_ROOT``. A name that is an absolute
    path is a path an administrator typed before images were uploaded and that the
    migration could not copy into the media folder (the file was only on the signing
    machine): it is used as it is, so existing signers keep signing.
    """
    if not name:
        return None
    if Path(name).is_absolute():
        return Path(name)
    return Path(settings.MEDIA_ROOT) / name


def check_stamp_image(file: File[bytes]) -> None:
    """Refuse an upload that is not a PNG or JPEG image of sensible size and dimensions.

    The bytes are read by Pillow (loaded only here, when an image is checked); the
    extension and the browser's content type are not trusted.
    """
    if getattr(file, "_committed", False):
        return  # already stored (checked when it was uploaded, or kept from before uploads)
    from PIL import Image

    size = file.size
    if size > STAMP_IMAGE_MAX_BYTES:
        raise ValidationError(
            f"Ảnh quá lớn ({size // 1024} KB); tối đa {STAMP_IMAGE_MAX_BYTES // 1024} KB.",
            code="too_large",
        )
    try:
        file.seek(0)
        with Image.open(file) as image:
            kind, (width, height) = image.format, image.size
            if kind not in STAMP_IMAGE_FORMATS:
                raise ValidationError(
                    f"Ảnh phải là PNG hoặc JPEG (tệp này là {kind}).", code="format"
                )
            if width * height > STAMP_IMAGE_MAX_PX**2:
                raise ValidationError("Ảnh quá nhiều điểm ảnh.", code="dimensions")
            image.load()
    except ValidationError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationError(
            "Tệp không phải ảnh PNG hoặc JPEG đọc được.", code="not_an_image"
        ) from exc
    finally:
        file.seek(0)
    (min_w, min_h), most = STAMP_IMAGE_MIN_PX, STAMP_IMAGE_MAX_PX
    if width < min_w or height < min_h or width > most or height > most:
        raise ValidationError(
            f"Ảnh {width}×{height} điểm ảnh; cần từ {min_w}×{min_h} đến {most}×{most}.",
            code="dimensions",
        )


class KeyKind(models.TextChoices):
    """Where a signing official's key lives."""

    PKCS12 = "pkcs12", "Tệp PKCS#12"
    PKCS11 = "pkcs11", "Thiết bị ký số PKCS#11 (USB token, HSM)"


class Signer(models.Model):
    """A signing official of an office and where their key lives."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="signers",
        verbose_name="tài khoản",
    )
    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="signers", verbose_name="cơ quan"
    )
    display_name = models.CharField("họ tên hiển thị", max_length=255)
    title = models.CharField("chức vụ", max_length=255, blank=True)
    key_kind = models.CharField(
        "loại khóa ký", max_length=16, choices=KeyKind.choices, default=KeyKind.PKCS12
    )
    pkcs12_path = models.CharField(
        "tệp khóa PKCS#12",
        max_length=1024,
        blank=True,
        help_text="Đường dẫn tuyệt đối trên máy ký (hàng đợi sign); bắt buộc khi loại khóa là "
        "tệp PKCS#12. Tệp khóa không tải lên qua trình duyệt: quản trị hệ thống chép tệp vào "
        "máy ký, mật khẩu do người ký nhập khi ký, không lưu ở đâu.",
    )
    pkcs11_module = models.CharField(
        "thư viện PKCS#11",
        max_length=1024,
        blank=True,
        help_text="Thư viện PKCS#11 của thiết bị ký số (USB token, HSM), ví dụ "
        "/usr/lib/softhsm/libsofthsm2.so. Bắt buộc khi loại khóa là thiết bị PKCS#11.",
    )
    token_label = models.CharField(
        "nhãn thiết bị ký số",
        max_length=255,
        blank=True,
        help_text="Để trống: thiết bị duy nhất đang cắm.",
    )
    key_id = models.CharField(
        "mã khóa (CKA_ID, hex)",
        max_length=255,
        blank=True,
        help_text="Để trống: chọn theo dấu vân tay chứng thư hoặc tên người ký.",
    )
    cert_sha256 = models.CharField(
        "dấu vân tay SHA-256 của chứng thư số",
        max_length=100,
        blank=True,
        help_text="64 chữ số hex (cho phép dấu hai chấm). Có giá trị này thì chỉ chứng thư "
        "đúng dấu vân tay mới được ký; để trống thì tên trong chứng thư phải trùng họ tên "
        "hiển thị.",
    )
    signature_image = models.FileField(
        "ảnh chữ ký",
        max_length=1024,
        blank=True,
        upload_to=signature_upload_to,
        validators=[check_stamp_image],
        help_text="Tải lên ảnh PNG (nên nền trong suốt) hoặc JPEG, tối đa "
        f"{STAMP_IMAGE_MAX_BYTES // 1024} KB, từ {STAMP_IMAGE_MIN_PX[0]}×{STAMP_IMAGE_MIN_PX[1]} "
        f"đến {STAMP_IMAGE_MAX_PX}×{STAMP_IMAGE_MAX_PX} điểm ảnh; có ảnh này thì chữ ký hiển thị "
        "theo mẫu Phụ lục I Nghị định 30/2020/NĐ-CP.",
    )
    seal_image = models.FileField(
        "ảnh con dấu",
        max_length=1024,
        blank=True,
        upload_to=seal_upload_to,
        validators=[check_stamp_image],
        help_text="Tải lên ảnh PNG nền trong suốt (hoặc JPEG), cùng giới hạn như ảnh chữ ký; "
        "phủ lên 1/3 bên trái ảnh chữ ký.",
    )
    active = models.BooleanField("đang hoạt động", default=True)

    class Meta:
        verbose_name = "người ký"
        verbose_name_plural = "người ký"
        constraints = [
            models.UniqueConstraint(fields=["user", "office"], name="one_signer_per_office")
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.office.code})"

    @property
    def on_token(self) -> bool:
        """True when the key lives on a PKCS#11 token or HSM (it signs in this process only)."""
        return self.key_kind == KeyKind.PKCS11

    @property
    def signature_path(self) -> Path | None:
        """Where the signature image is on disk (:func:`stamp_image_path`), or None."""
        return stamp_image_path(self.signature_image.name)

    @property
    def seal_path(self) -> Path | None:
        """Where the seal image is on disk (:func:`stamp_image_path`), or None."""
        return stamp_image_path(self.seal_image.name)

    def token_config(self) -> TokenConfig:
        """How :func:`signing.keys.pkcs11.open_token` finds this official's key on the token."""
        return TokenConfig(
            module_path=Path(self.pkcs11_module),
            token_label=self.token_label or None,
            key_id=self.key_id or None,
            cert_sha256=self.cert_sha256 or None,
            cert_subject=None if self.key_id or self.cert_sha256 else self.display_name,
        )

    def clean(self) -> None:
        """Refuse a key configuration that cannot work; store the fingerprint as bare hex."""
        errors: dict[str, str] = {}
        self.cert_sha256 = clean_fingerprint(self.cert_sha256, errors)
        if self.key_kind == KeyKind.PKCS11:
            if not self.pkcs11_module.strip():
                errors["pkcs11_module"] = "Cần đường dẫn thư viện PKCS#11 của thiết bị ký số."
        elif not self.pkcs12_path.strip():
            errors["pkcs12_path"] = "Cần đường dẫn tệp khóa PKCS#12."
        if errors:
            raise ValidationError(errors)


class OfficeSigningPolicy(models.Model):
    """The PAdES level an office's signatures must reach, and its timestamp authority.

    An office without a row signs at B-B. A level is never lowered: when the
    timestamp authority or a revocation source does not answer, the signing run
    fails and can be run again.
    """

    class Level(models.TextChoices):
        B_B = "B-B", "PAdES B-B (chỉ chữ ký)"
        B_T = "B-T", "PAdES B-T (có dấu thời gian)"
        B_LT = "B-LT", "PAdES B-LT (kèm dữ liệu kiểm tra dài hạn)"
        B_LTA = "B-LTA", "PAdES B-LTA (kèm dấu thời gian lưu trữ)"

    office = models.OneToOneField(
        Office, on_delete=models.CASCADE, related_name="signing_policy", verbose_name="cơ quan"
    )
    level = models.CharField(
        "mức chữ ký PAdES", max_length=8, choices=Level.choices, default=Level.B_B
    )
    tsa_url = models.URLField(
        "máy chủ cấp dấu thời gian (RFC 3161)",
        max_length=1024,
        blank=True,
        help_text="Bắt buộc từ mức B-T trở lên.",
    )

    class Meta:
        verbose_name = "chính sách ký số của cơ quan"
        verbose_name_plural = "chính sách ký số của cơ quan"

    def __str__(self) -> str:
        return f"{self.office.code}: {self.level}"

    @classmethod
    def for_office(cls, office_id: int) -> OfficeSigningPolicy:
        """The office's policy, or an unsaved B-B policy when the office has none."""
        found = cls.objects.filter(office=office_id).first()
        return found if found is not None else cls(office_id=office_id)

    def clean(self) -> None:
        """Refuse a timestamped level without a timestamp authority."""
        if self.level != self.Level.B_B and not self.tsa_url.strip():
            raise ValidationError(
                {"tsa_url": "Mức từ B-T trở lên cần địa chỉ máy chủ cấp dấu thời gian."}
            )
