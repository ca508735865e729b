"""The project's own application: it wires the task queue into the packages at start-up."""

from __future__ import annotations

import importlib

from django.apps import AppConfig

from core import queue


def send_with_celery(task_name: str, ids: tuple[int, ...]) -> None:
    """Send a task through motcua's Celery app, loaded on the first task a process sends.

    The task's module is imported first (a worker imports every app's tasks at start;
    a web or command process only the ones it sends), so the task is registered.
    """
    from motcua.celery import app

    importlib.import_module(task_name.rpartition(".")[0])
    app.tasks[task_name].delay(*ids)


class MotcuaConfig(AppConfig):
    name = "motcua"
    verbose_name = "motcua"

    def ready(self) -> None:
        """Wire the packages' task sending to motcua's Celery app (loaded lazily)."""
        queue.wire(send_with_celery)
        from motcua import checks  # noqa: F401  (registers the start-up checks)
