"""The daily sequence of dossier codes per agency: one counter row per agency and day."""

from __future__ import annotations

from django.db import models


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
