"""Scheduled work of the back office: the statistics' closed months stored ahead of views."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from backoffice.services.statistics_store import refresh


@shared_task
def store_statistics() -> None:
    """Count and store the closed months not stored as the data are now (a new month, a
    change to an old one), so no office head's view pays for it; a worker does it at start
    and the scheduler every ``STATISTICS_STORE_S``."""
    refresh(timezone.now())
