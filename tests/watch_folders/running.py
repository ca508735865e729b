"""Running the real watcher loop in a test: the watcher in this thread, the clerk in another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from unittest import mock

from pytest_django import DjangoCaptureOnCommitCallbacks

from watch_folders.services.journal import journal_dir
from watch_folders.services.watcher import run


@dataclass
class Session:
    """What a run of the watcher sent on, and whether the scenario finished in time."""

    sent: list[int] = field(default_factory=list)
    timed_out: str = ""
    seconds: float = 0.0


def no_open_claims() -> bool:
    folder = journal_dir()
    return not folder.exists() or not any(folder.iterdir())


def run_watcher(
    scenario: Callable[[Session], None],
    done: Callable[[Session], bool],
    capture: DjangoCaptureOnCommitCallbacks,
    *,
    timeout: float = 30.0,
) -> Session:
    """Run :func:`watch_folders.services.watcher.run` until ``done`` (polled, bounded).

    ``scenario`` drops the files, in a thread of its own, like a clerk or a scanner; the
    watcher runs here, so its database work stays on the test's own connection. Tasks
    it would send to the queue once its rows commit are recorded instead (``Session.sent``,
    filled when the test's transaction would commit, through ``capture``); ``done`` must
    tell from the files alone.
    """
    session = Session()
    stop = threading.Event()

    def clerk() -> None:
        start = time.monotonic()
        try:
            scenario(session)
            deadline = start + timeout
            while not (done(session) and no_open_claims()):
                if time.monotonic() > deadline:
                    session.timed_out = f"not done after {timeout:.0f}s"
                    return
                time.sleep(0.05)
        except Exception as exc:  # the scenario failed: stop the watcher and say why
            session.timed_out = f"scenario failed: {exc!r}"
        finally:
            session.seconds = time.monotonic() - start
            stop.set()

    def record(name: str, *ids: int) -> None:
        assert name == "digitize.tasks.prepare_document"
        session.sent.extend(ids)

    with mock.patch("digitize.services.dispatch.enqueue", record), capture(execute=True):
        thread = threading.Thread(target=clerk, daemon=True)
        thread.start()
        run(stop)
        thread.join(timeout=5)
    return session
