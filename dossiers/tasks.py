"""Scheduled work of the dossier domain: the deadline watch (soon-late flags, apology drafts)."""

from __future__ import annotations

from celery import shared_task

from dossiers.services.deadlines import watch_deadlines as watch


@shared_task
def watch_deadlines() -> dict[str, int]:
    """Flag soon-late dossiers and draft apology letters for late ones (idempotent)."""
    done = watch()
    return {"flagged": done.flagged, "apologies": done.apologies}
