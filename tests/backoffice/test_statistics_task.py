"""The scheduled storing of the statistics' closed months, which views then only sum."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.models import StoredMonth
from backoffice.services.statistics_store import month_of
from backoffice.tasks import store_statistics
from tests.conftest import MakeDossier

pytestmark = pytest.mark.django_db


def test_the_task_stores_every_closed_month_and_not_the_running_one(
    make_dossier: MakeDossier,
) -> None:
    """A dossier received months ago makes its month and the ones after it stored, so a
    head's first view of the year sums them instead of counting them."""
    registered = make_dossier()
    long_ago = timezone.now() - timedelta(days=100)
    type(registered.dossier).objects.filter(pk=registered.dossier.pk).update(received_at=long_ago)
    assert not StoredMonth.objects.exists()
    store_statistics()
    months = set(StoredMonth.objects.values_list("month", flat=True))
    assert month_of(long_ago) in months
    assert month_of(timezone.now()) not in months
    assert len(months) >= 3
