"""The task boundary: the one place a pipeline error's disposition is acted on for a document."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from core.errors import PipelineError, RetryPolicy
from dossiers.services.workflow import fail_document

__all__ = ["STAGE_RETRIES", "act_on"]

log = logging.getLogger(__name__)

STAGE_RETRIES = RetryPolicy()
"""Retries of a document's stage after a ``retry`` error: 10 s, 20 s, … up to 10 minutes."""


def act_on(
    error: PipelineError,
    *,
    document_id: int,
    stage: str,
    task: Task | None = None,  # type: ignore[type-arg]
    detail: dict[str, Any] | None = None,
    policy: RetryPolicy = STAGE_RETRIES,
) -> None:
    """Do what ``error``'s disposition says with the document whose ``stage`` it stopped.

    ``retry``: the task runs again later with a growing delay (this raises Celery's
    ``Retry``); once the retries are spent it fails like ``fail``. ``quarantine``: the
    input is bad, so the document is FAILED and its scans go to failed/ with the reason
    for the clerk. ``fail``: a person must fix something on the server; the same, but the
    reason file sends the clerk to the administrator, and the operators' log says so.
    """
    if error.disposition == "retry" and task is not None:
        retries = task.request.retries
        if not policy.gives_up(retries):
            raise task.retry(countdown=policy.countdown(retries), exc=error)
    needs_admin = error.disposition != "quarantine"
    if needs_admin:
        log.error(
            "document %s: %s stage failed (%s): %s %s",
            document_id,
            stage,
            error.disposition,
            error.message_vi,
            error.detail,
        )
    fail_document(
        document_id,
        error.message_vi,
        detail={"stage": stage, "disposition": error.disposition, **(detail or {})},
        needs_admin=needs_admin,
    )
