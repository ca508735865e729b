"""Sending a task by name: wired at Django start-up, Celery and the task loaded on first use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import queue

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import django
django.setup()
assert "celery" not in sys.modules, "Django start-up loaded Celery"
assert "publishing.tasks" not in sys.modules
from unittest import mock
with mock.patch("celery.app.task.Task.apply_async") as send:
    from core.queue import enqueue
    enqueue("publishing.tasks.publish_document", 7)
args = send.call_args.args[0]
print(type(args).__name__, args)
"""


def test_a_process_that_never_imported_the_task_module_sends_it(tmp_path: Path) -> None:
    """A web or command process sends a task whose module it never imported (not eager)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "motcua.settings",
        "MOTCUA_DATA_DIR": str(tmp_path),
        "MOTCUA_TASKS_EAGER": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["tuple", "(7,)"]


def test_sending_before_the_queue_is_wired_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a wired sender (Django not set up), a task is refused loudly, not lost."""
    monkeypatch.setattr(queue, "_sender", None)
    with pytest.raises(queue.QueueNotWiredError, match=r"digitize\.tasks\.prepare_document"):
        queue.enqueue("digitize.tasks.prepare_document", 1)
