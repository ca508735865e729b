"""Stored monthly statistics: each closed month's flows per office and procedure."""

from __future__ import annotations

from django.db import models

FLOWS = (
    "received",
    "resolved",
    "resolved_early",
    "resolved_late",
    "rated",
    "unsatisfied",
    "digitized_signed",
    "came_overdue",
    "supplement_requests",
    "transfers",
    "apologies",
)
"""The counted columns of :class:`MonthFigures`, in the order the store inserts them."""


class StoredMonth(models.Model):
    """A closed month whose :class:`MonthFigures` were counted (unless a :class:`CountedChange`
    names it since)."""

    month = models.DateField("tháng", primary_key=True)
    """The month's first day (Vietnam time)."""

    version = models.PositiveSmallIntegerField("phiên bản cách đếm")
    computed_at = models.DateTimeField("đếm lúc", auto_now=True)

    class Meta:
        verbose_name = "tháng đã tổng hợp"
        verbose_name_plural = "các tháng đã tổng hợp"

    def __str__(self) -> str:
        return f"{self.month:%m/%Y}"


class CountedChange(models.Model):
    """Something counted in a stored month changed. Database triggers
    (``backoffice.services.statistics_triggers``) add the rows, in the writer's transaction:
    the month itself when the changed row tells it (a dossier's moments, an event), or the
    dossier whose resolution month (and, ``with_events``, its events' months) the statistics
    look up (a document, a rating, a dossier moved to another office). The statistics count
    those months again before reading them and remove the rows. Writers only ever insert
    here, so they never wait for one another."""

    month = models.DateField("tháng", null=True, db_index=True)
    dossier_id = models.BigIntegerField("hồ sơ", null=True)
    with_events = models.BooleanField("cả các sự kiện của hồ sơ", default=False)

    class Meta:
        verbose_name = "thay đổi cần tổng hợp lại"
        verbose_name_plural = "các thay đổi cần tổng hợp lại"

    def __str__(self) -> str:
        return f"{self.month:%m/%Y}" if self.month else f"hồ sơ {self.dossier_id}"


class MonthFigures(models.Model):
    """What happened in one month to the dossiers of one office and procedure.

    Flows only, each counted in the month of its moment: received (receipt), resolved and
    its kinds, rated, unsatisfied and digitized (resolution), came overdue (the due moment,
    for a dossier then still open or resolved late), and the events. What is open at a month's
    edge is the sum of the flows of every month before it.
    """

    month = models.DateField("tháng")
    office_id = models.BigIntegerField("cơ quan")
    procedure_id = models.BigIntegerField("thủ tục")
    received = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    resolved_early = models.PositiveIntegerField(default=0)
    resolved_late = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    unsatisfied = models.PositiveIntegerField(default=0)
    digitized_signed = models.PositiveIntegerField(default=0)
    came_overdue = models.PositiveIntegerField(default=0)
    supplement_requests = models.PositiveIntegerField(default=0)
    transfers = models.PositiveIntegerField(default=0)
    apologies = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "số liệu tháng"
        verbose_name_plural = "số liệu tháng"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "office_id", "procedure_id"], name="one_figures_row_per_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%m/%Y} {self.office_id}/{self.procedure_id}"
