"""The fields a unit of work claimed under a lease carries (a page, a document's stage)."""

from __future__ import annotations

from django.db import models


class Leased(models.Model):
    """A unit a worker claims for a while and renews by heartbeat (``dossiers.services.leases``).

    ``lease_holder`` is empty when nobody holds it; ``lease_claims`` counts the claims
    since the last clean release, so a unit whose every try kills its worker is noticed.
    """

    lease_holder = models.CharField("đang xử lý bởi", max_length=120, blank=True, default="")
    lease_until = models.DateTimeField("hết hạn nhận việc", null=True, blank=True, db_index=True)
    lease_claims = models.PositiveSmallIntegerField("số lần nhận việc", default=0)

    class Meta:
        abstract = True
