"""Counters that hand out numbers once: dossier codes per agency and day, letter numbers per
office, form and year."""

from __future__ import annotations

from django.db import models

from dossiers.models.offices import Office


class DossierSequence(models.Model):
    """The last sequence number given to a generated dossier code of one agency on one day.

    Registrations lock the row while they take the next number (an ``UPDATE`` of the
    counter), so two clerks registering at once never get the same code.
    """

    agency_code = models.CharField("mã định danh cơ quan", max_length=32)
    day = models.DateField("ngày tiếp nhận")
    last = models.PositiveIntegerField("số thứ tự cuối", default=0)

    class Meta:
        verbose_name = "số thứ tự mã hồ sơ"
        verbose_name_plural = "số thứ tự mã hồ sơ"
        constraints = [
            models.UniqueConstraint(fields=["agency_code", "day"], name="one_sequence_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.agency_code} {self.day:%d/%m/%Y}: {self.last}"


class LetterSequence(models.Model):
    """The last number given to a letter of one form (``07/XL``) at one office in one year.

    Approving a letter takes the next number by an ``UPDATE`` of this row inside the
    approval's transaction, so two heads approving at once never print the same "Số:".
    """

    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="+", verbose_name="cơ quan"
    )
    form = models.CharField("mẫu", max_length=2)
    year = models.PositiveSmallIntegerField("năm")
    last = models.PositiveIntegerField("số cuối đã cấp", default=0)

    class Meta:
        verbose_name = "số văn bản đã cấp"
        verbose_name_plural = "số văn bản đã cấp"
        constraints = [
            models.UniqueConstraint(
                fields=["office", "form", "year"], name="one_letter_sequence_per_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.office_id} mẫu {self.form} năm {self.year}: {self.last}"
