"""Offices, their procedures and the working-day calendar."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models

from dossiers.calendar import WorkCalendar


class Office(models.Model):
    """A one-stop desk: a commune, district or province office."""

    code = models.SlugField("mã cơ quan", max_length=64, unique=True)
    name = models.CharField("tên cơ quan", max_length=255)
    agency_code = models.CharField(
        "mã định danh cơ quan",
        max_length=32,
        blank=True,
        help_text="Mã định danh điện tử của cơ quan (ví dụ 000.00.14.H56), dùng trong mã hồ sơ.",
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name="cơ quan cấp trên",
        help_text="Tỉnh trên huyện, huyện trên xã: quản trị viên cấp trên quản trị cả cấp dưới.",
    )

    class Meta:
        verbose_name = "cơ quan"
        verbose_name_plural = "cơ quan"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse a parent that is the office itself or one of its own subordinates."""
        seen: set[int] = set()
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.pk == self.pk or ancestor.pk in seen:
                raise ValidationError(
                    {"parent": "Cơ quan cấp trên không thể là chính nó hay cấp dưới của nó."}
                )
            seen.add(ancestor.pk)
            ancestor = ancestor.parent


class StampLayout(models.TextChoices):
    """The visible stamp layouts a procedure may require (as in ``signing.stamp.text.Layout``)."""

    TEXT = "text", "Mẫu chữ (khung chữ và mã QR)"
    PERSONAL = "personal", "Chữ ký cá nhân (Phụ lục I Nghị định 30/2020)"
    CERTIFIED_COPY = "certified_copy", "Bản sao điện tử từ bản chính"


class StampPage(models.TextChoices):
    """Which page of a result carries the visible signature."""

    FIRST = "first", "Trang đầu"
    LAST = "last", "Trang cuối"
    NUMBER = "number", "Trang số … (ghi ở ô “số trang”)"


class StampCorner(models.TextChoices):
    """Named positions of the visible signature on its page (as ``signing.stamp.place.Corner``)."""

    TOP_LEFT = "top-left", "Góc trên bên trái"
    TOP_RIGHT = "top-right", "Góc trên bên phải"
    BOTTOM_LEFT = "bottom-left", "Góc dưới bên trái"
    BOTTOM_RIGHT = "bottom-right", "Góc dưới bên phải"


A4_MM = (Decimal(210), Decimal(297))
"""Width and height of an A4 page in millimetres, the paper of administrative documents
(Decree 30/2020, Appendix I); a configured stamp box must fit it."""

STAMP_MIN_MM = (Decimal(40), Decimal(15))
"""Smallest width and height of a configured stamp box: three lines of 10 pt text and the QR."""


def _millimetres(label: str) -> models.DecimalField[Decimal | None, Decimal | None]:
    return models.DecimalField(
        label, max_digits=5, decimal_places=1, null=True, blank=True, help_text=_BOX_HELP
    )


_BOX_HELP = "Milimét. Để trống cả bốn ô: kích thước và lề theo mẫu chữ ký."


class Procedure(models.Model):
    """An administrative procedure (TTHC) with its legal time limit and where its stamp goes."""

    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="procedures", verbose_name="cơ quan"
    )
    code = models.CharField("mã thủ tục", max_length=64)
    name = models.CharField("tên thủ tục", max_length=500)
    limit_working_days = models.PositiveIntegerField("thời hạn giải quyết (ngày làm việc)")
    field = models.CharField(
        "lĩnh vực",
        max_length=255,
        blank=True,
        db_index=True,
        help_text="Lĩnh vực của thủ tục (hộ tịch, đất đai, …), dùng trong thống kê theo lĩnh vực.",
    )
    stamp_layout = models.CharField(
        "mẫu chữ ký hiển thị",
        max_length=32,
        choices=StampLayout.choices,
        blank=True,
        help_text="Để trống: theo người ký (mẫu cá nhân khi có ảnh chữ ký, nếu không thì mẫu "
        "chữ). Chứng thực bản sao từ bản chính dùng mẫu “bản sao điện tử”.",
    )
    stamp_page = models.CharField(
        "trang đặt chữ ký",
        max_length=8,
        choices=StampPage.choices,
        blank=True,
        help_text="Để trống: theo mẫu chữ ký (bản sao điện tử ở trang đầu, mẫu khác ở trang "
        "cuối). Tài liệu ít trang hơn số trang đã chọn thì chữ ký đặt ở trang cuối và lý do "
        "được ghi vào nhật ký.",
    )
    stamp_page_number = models.PositiveSmallIntegerField(
        "số trang", null=True, blank=True, help_text="Khi chọn “Trang số …”: 1 là trang đầu."
    )
    stamp_corner = models.CharField(
        "vị trí chữ ký trên trang",
        max_length=16,
        choices=StampCorner.choices,
        blank=True,
        help_text="Để trống: theo mẫu chữ ký (bản sao điện tử ở góc trên bên phải, mẫu khác ở "
        "góc dưới bên phải). Các khoảng cách bên dưới tính từ góc này.",
    )
    stamp_x_mm = _millimetres("cách mép trái/phải (mm)")
    stamp_y_mm = _millimetres("cách mép trên/dưới (mm)")
    stamp_width_mm = _millimetres("chiều rộng ô chữ ký (mm)")
    stamp_height_mm = _millimetres("chiều cao ô chữ ký (mm)")
    colour_mode = models.CharField(
        "lưu ảnh màu",
        max_length=8,
        choices=[
            ("auto", "Tự động: giữ màu trang có con dấu, chữ ký màu"),
            ("colour", "Màu: bản sao điện tử, giấy tờ có con dấu"),
            ("grey", "Xám hoặc đen trắng: văn bản thường"),
        ],
        default="auto",
        help_text="Cách lưu ảnh quét màu. “Màu” giữ màu mọi trang (con dấu đỏ vẫn đỏ) và trả "
        "lại trang quét xám hoặc đen trắng để quét lại ở chế độ màu; “xám” cho tệp nhỏ nhất.",
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

    @property
    def stamp_box_mm(self) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
        """The configured stamp box (from the corner's edges, then size) in mm, or None."""
        x, y = self.stamp_x_mm, self.stamp_y_mm
        width, height = self.stamp_width_mm, self.stamp_height_mm
        if x is None or y is None or width is None or height is None:
            return None
        return (x, y, width, height)

    def clean(self) -> None:
        """Refuse a stamp place that cannot work: a page without its number, a partial box,
        a box without its corner, or a box too small or not fitting an A4 page."""
        errors: dict[str, str] = {}
        if self.stamp_page == StampPage.NUMBER and not self.stamp_page_number:
            errors["stamp_page_number"] = "Cần ghi số trang (1 là trang đầu)."
        elif self.stamp_page != StampPage.NUMBER and self.stamp_page_number is not None:
            errors["stamp_page_number"] = "Chỉ ghi số trang khi chọn “Trang số …”."
        values = (self.stamp_x_mm, self.stamp_y_mm, self.stamp_width_mm, self.stamp_height_mm)
        box = self.stamp_box_mm
        if box is None and any(v is not None for v in values):
            errors["stamp_width_mm"] = (
                "Ghi đủ cả bốn ô (cách mép trái/phải, cách mép trên/dưới, rộng, cao) hoặc để "
                "trống cả bốn."
            )
        elif box is not None:
            if not self.stamp_corner:
                errors["stamp_corner"] = "Chọn góc trang mà các khoảng cách được tính từ đó."
            x, y, width, height = box
            (page_w, page_h), (min_w, min_h) = A4_MM, STAMP_MIN_MM
            if width < min_w or height < min_h:
                errors["stamp_width_mm"] = (
                    f"Ô chữ ký nhỏ nhất {min_w} × {min_h} mm, nhỏ hơn thì chữ ký khó đọc."
                )
            else:
                over = [
                    f"cách mép {_vi(gap)} + {name} {_vi(size)} = {_vi(gap + size)} mm > {limit} mm"
                    for gap, size, limit, name in (
                        (x, width, page_w, "rộng"),
                        (y, height, page_h, "cao"),
                    )
                    if gap + size > limit
                ]
                if over:
                    errors["stamp_width_mm"] = (
                        f"Ô chữ ký không vừa trang A4 ({page_w} × {page_h} mm): {'; '.join(over)}."
                    )
        if errors:
            raise ValidationError(errors)


def _vi(value: Decimal) -> str:
    """A millimetre value as Vietnamese write it: decimal comma, no trailing ``,0``."""
    return f"{value:.1f}".replace(".", ",").removesuffix(",0")


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
