"""The Celery application shared by every worker, scheduler and producer."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "motcua.settings")

app = Celery("motcua")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


RECOVERIES = (
    "digitize.tasks.recover_leases",
    "signing.tasks.recover_signing_leases",
    "digitize.tasks.recover_digitizing",
    "signing.tasks.recover_signing",
    "publishing.tasks.recover_publishing",
    "backoffice.tasks.store_statistics",
)
"""What a worker asks for when it starts: the scheduled recoveries at once, and the
statistics' closed months stored (a first start counts every month once)."""


@worker_ready.connect
def look_for_lapsed_leases(**_: Any) -> None:
    """A worker (re)started, perhaps after its predecessor died holding leases: recover now,
    and look again once a lease has had time to lapse (the supervisor of ``motcua run`` and
    the orchestrator of the distributed roles restart a dead worker at once)."""
    from core.lease import LEASE_TERMS

    for name in RECOVERIES:
        app.send_task(name)
    for name in RECOVERIES[:2]:
        app.send_task(name, countdown=LEASE_TERMS.lease_s + 1)
