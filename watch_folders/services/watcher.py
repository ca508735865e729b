"""The watcher loop: filesystem events (or polling) wake a scan; quiet folders are claimed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from django.conf import settings
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from watch_folders.services.claim import claim_folder, recover_orphans, refuse_loose_file
from watch_folders.stability import StabilityTracker, folder_signature, is_partial

log = logging.getLogger(__name__)


class _Wake(FileSystemEventHandler):
    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._event.set()


class InboxWatcher:
    """Scan ``inbox/<office>/<dossier>/`` folders and claim those that are quiet."""

    def __init__(self, inbox: Path, tracker: StabilityTracker) -> None:
        self.inbox = inbox
        self.tracker = tracker

    def scan_once(self) -> int:
        """One pass over the inbox; returns how many folders or files were handled."""
        handled = 0
        present: set[Path] = set()
        if not self.inbox.exists():
            return 0
        for office_dir in sorted(p for p in self.inbox.iterdir() if p.is_dir()):
            if office_dir.name.startswith("."):
                continue
            for entry in sorted(office_dir.iterdir()):
                if entry.name.startswith(".") or is_partial(entry.name):
                    continue
                present.add(entry)
                if entry.is_dir():
                    if self.tracker.observe(entry, folder_signature(entry)):
                        self.tracker.forget(entry)
                        self._handle(partial(claim_folder, entry, office_dir.name))
                        handled += 1
                elif entry.is_file():
                    st = entry.stat()
                    if self.tracker.observe(entry, ((entry.name, st.st_size, st.st_mtime_ns),)):
                        self.tracker.forget(entry)
                        self._handle(partial(refuse_loose_file, entry, office_dir.name))
                        handled += 1
        self.tracker.prune(present)
        return handled

    @staticmethod
    def _handle(action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            # The line keeps moving: one bad folder must not stop the watcher.
            log.exception("could not claim an inbox entry; it stays where it is")


def make_observer(polling: bool) -> BaseObserver:
    """Inotify where it works; polling for network shares (SMB/NFS send no events)."""
    return PollingObserver(timeout=2) if polling else Observer()


def run(stop: threading.Event | None = None) -> None:
    """Watch the inbox until ``stop`` is set (or forever)."""
    inbox = Path(settings.INBOX_DIR)
    inbox.mkdir(parents=True, exist_ok=True)
    for kept in recover_orphans():
        log.warning("interrupted intake moved to %s", kept)
    stop = stop or threading.Event()
    wake = threading.Event()
    observer = make_observer(settings.WATCH_POLLING)
    observer.schedule(_Wake(wake), str(inbox), recursive=True)
    observer.start()
    tracker = StabilityTracker(settle_s=settings.WATCH_SETTLE_S, clock=time.monotonic)
    watcher = InboxWatcher(inbox, tracker)
    log.info("watching %s (settle %.1fs)", inbox, settings.WATCH_SETTLE_S)
    try:
        while not stop.is_set():
            watcher.scan_once()
            # Events wake us early; the timeout re-checks folders that are settling.
            wake.wait(timeout=min(settings.WATCH_RESCAN_S, max(settings.WATCH_SETTLE_S / 2, 0.2)))
            wake.clear()
    finally:
        observer.stop()
        observer.join(timeout=5)
