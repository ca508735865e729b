"""The distributed deployment's compose file: every Celery queue has a worker."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"


def _consumed_queues() -> set[str]:
    """The queues the compose file's worker roles listen on (``-Q a,b``)."""
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    queues: set[str] = set()
    for service in services.values():
        command = service.get("command") or []
        if command[:1] == ["worker"] and "-Q" in command:
            queues.update(command[command.index("-Q") + 1].split(","))
    return queues


def test_every_queue_has_a_worker_in_the_distributed_deployment() -> None:
    """Each queue tasks are routed to is consumed by some worker role of the compose file."""
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    declared = set(settings.TASK_QUEUES)
    assert routed <= declared
    assert declared <= _consumed_queues()
