"""Sending work to the task queue by task name: the project wires the sender, packages name it.

The packages send a task by its name and a row id (never a rich object); which Celery
app, broker and routes carry it is the project's business (``motcua.apps``), wired
when Django starts. Nothing here imports Celery, so a process that sends nothing (the
``motcua status`` command, the admin) never pays for loading it.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["QueueNotWiredError", "Sender", "enqueue", "wire"]

Sender = Callable[[str, tuple[int, ...]], None]
"""Sends the task named by its first argument with the ids in its second."""

_sender: Sender | None = None


class QueueNotWiredError(RuntimeError):
    """A task was sent before the project wired a sender (Django was not set up)."""


def wire(sender: Sender) -> None:
    """Make ``sender`` carry every task sent from now on (the project does it at start-up)."""
    global _sender
    _sender = sender


def enqueue(task_name: str, *ids: int) -> None:
    """Send the task ``task_name`` (e.g. ``"digitize.tasks.prepare_document"``) with ``ids``."""
    if _sender is None:
        raise QueueNotWiredError(f"no task queue is wired; cannot send {task_name}")
    _sender(task_name, ids)
