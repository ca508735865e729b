"""The broker's visibility timeout outlasts every task's time limit plus its longest wait,
so Redis never hands out again a message whose task still runs or waits for its retry."""

from __future__ import annotations

from celery import Task

from core.lease import LEASE_TERMS
from digitize.tasks import OCR_RETRIES
from dossiers.services.boundary import STAGE_RETRIES
from motcua.celery import app
from publishing.services.delivery import DELIVERY_RETRIES

PACKAGES = (
    "digitize.",
    "signing.",
    "publishing.",
    "watch_folders.",
    "dossiers.",
    "audit.",
    "backoffice.",
)

LONGEST_COUNTDOWN_S: dict[str, float] = {
    "digitize.tasks.prepare_document": STAGE_RETRIES.max_delay_s,
    "digitize.tasks.ocr_page": OCR_RETRIES.max_delay_s,
    "digitize.tasks.assemble_document": STAGE_RETRIES.max_delay_s,
    "digitize.tasks.recover_digitizing": 0.0,
    "digitize.tasks.recover_leases": LEASE_TERMS.lease_s + 1,  # sent by a starting worker
    "signing.tasks.auto_sign_document": 0.0,
    "signing.tasks.recover_signing": 0.0,
    "signing.tasks.recover_signing_leases": LEASE_TERMS.lease_s + 1,  # sent by a starting worker
    "publishing.tasks.publish_document": 0.0,
    "publishing.tasks.deliver_document": DELIVERY_RETRIES.max_delay_s,
    "publishing.tasks.recover_publishing": 0.0,
    "publishing.tasks.deliver_letter": DELIVERY_RETRIES.max_delay_s,  # the outbox's next try
    "dossiers.tasks.watch_deadlines": 0.0,
    "backoffice.tasks.store_statistics": 0.0,
}
"""Each task's longest countdown (a retry's wait, a delayed send); a new task must be added."""


def _tasks() -> dict[str, Task]:  # type: ignore[type-arg]
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith(PACKAGES)}


def test_every_task_has_a_time_limit_and_a_known_longest_countdown() -> None:
    """No task runs unbounded, and each is listed with its longest wait."""
    tasks = _tasks()
    assert set(tasks) == set(LONGEST_COUNTDOWN_S)
    for name, task in tasks.items():
        limit = task.time_limit or app.conf.task_time_limit
        assert limit, f"{name} has no time limit"


def test_visibility_timeout_exceeds_time_limit_plus_longest_countdown() -> None:
    """time limit + longest countdown < the visibility timeout, for every task."""
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    for name, task in _tasks().items():
        limit = float(task.time_limit or app.conf.task_time_limit)
        worst = limit + LONGEST_COUNTDOWN_S[name]
        assert worst < visibility, f"{name}: {worst:.0f} s ≥ visibility timeout {visibility} s"
