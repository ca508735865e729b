"""The watcher loop: filesystem events (or polling) wake a full scan; quiet entries are claimed."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

from django.conf import settings
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from watch_folders.layouts import LOOSE_FILES, SCANNER_BATCHES, FolderConfig, LoosePattern
from watch_folders.services.batches import claim_batch
from watch_folders.services.claim import claim_folder, default_config, refuse_loose_file
from watch_folders.services.config import check_folders, load_folders, needs_polling
from watch_folders.services.journal import HIDDEN_PREFIX
from watch_folders.services.loose import claim_loose, group_loose, unmatched_reason
from watch_folders.services.recovery import resume_claims
from watch_folders.stability import Signature, StabilityTracker, folder_signature, is_partial

__all__ = ["InboxWatcher", "make_observer", "run"]

log = logging.getLogger(__name__)


class _Wake(FileSystemEventHandler):
    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._event.set()


def _entries(folder: Path) -> Iterator[os.DirEntry[str]]:
    """A folder's visible entries by name, partial copies and hidden names left out."""
    try:
        with os.scandir(folder) as it:
            found = sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in found:
        if not (entry.name.startswith(".") or is_partial(entry.name)):
            yield entry


def _signature(entries: Sequence[os.DirEntry[str]]) -> Signature:
    """Names, sizes and mtimes of entries, never following a link."""
    result = []
    for entry in entries:
        st = entry.stat(follow_symlinks=False)
        size = st.st_size if entry.is_file(follow_symlinks=False) else -1
        result.append((entry.name, size, st.st_mtime_ns))
    return tuple(sorted(result))


class InboxWatcher:
    """Scan the watched folders and claim what has been quiet for the settle time.

    Every office folder under ``inbox/`` without a configuration of its own holds a
    folder a dossier (``inbox/<office>/<dossier>/``); configured folders follow their
    layout. Each pass lists everything (a full rescan), so nothing is stranded by a lost
    event, an overflowed queue or a tree moved in.
    """

    def __init__(
        self, inbox: Path, tracker: StabilityTracker, folders: Sequence[FolderConfig] = ()
    ) -> None:
        self.inbox = inbox
        self.tracker = tracker
        self.folders = list(folders)
        self._trackers: dict[Path, StabilityTracker] = {
            f.path: StabilityTracker(settle_s=f.settle_s, clock=tracker.clock)
            for f in self.folders
            if f.settle_s is not None
        }
        self._present: dict[int, set[Path]] = {}

    def _tracker(self, config: FolderConfig) -> StabilityTracker:
        return self._trackers.get(config.path, self.tracker)

    def _quiet(self, config: FolderConfig, key: Path, signature: Signature | None) -> bool:
        tracker = self._tracker(config)
        self._present.setdefault(id(tracker), set()).add(key)
        if tracker.observe(key, signature):
            tracker.forget(key)
            return True
        return False

    def scan_once(self) -> int:
        """One full pass over every watched folder; returns how many entries were handled."""
        self._present = {}
        handled = 0
        configured = {f.path: f for f in self.folders}
        for office_dir in (e for e in _entries(self.inbox) if e.is_dir(follow_symlinks=False)):
            path = Path(office_dir.path)
            config = configured.pop(path, None)
            handled += self._scan(config or default_config(office_dir.name), config is None)
        for config in configured.values():
            if config.path.parent != self.inbox:
                handled += self._scan(config, False)
        for tracker in {id(t): t for t in [self.tracker, *self._trackers.values()]}.values():
            tracker.prune(self._present.get(id(tracker), set()))
        return handled

    def _scan(self, config: FolderConfig, default: bool) -> int:
        entries = list(_entries(config.path))
        handled = 0
        loose: list[os.DirEntry[str]] = []
        for entry in entries:
            key = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if self._quiet(config, key, folder_signature(key)):
                    args = (
                        (key, config.office_code) if default else (key, config.office_code, config)
                    )
                    handled += self._handle(partial(claim_folder, *args))
            elif config.layout == LOOSE_FILES and entry.is_file(follow_symlinks=False):
                loose.append(entry)
            elif self._quiet(config, key, _signature([entry])):
                if config.layout == SCANNER_BATCHES and entry.is_file(follow_symlinks=False):
                    handled += self._handle(partial(claim_batch, key, config))
                elif default:
                    handled += self._handle(partial(refuse_loose_file, key, config.office_code))
                else:
                    handled += self._handle(
                        partial(refuse_loose_file, key, config.office_code, config)
                    )
        if loose:
            handled += self._scan_loose(config, loose)
        return handled

    def _scan_loose(self, config: FolderConfig, entries: list[os.DirEntry[str]]) -> int:
        by_path = {Path(e.path): e for e in entries}
        groups, unmatched = group_loose(list(by_path), LoosePattern(config.pattern))
        handled = 0
        for code, group in groups.items():
            signature = _signature([by_path[p] for p in group.paths])
            if self._quiet(config, config.path / f"{HIDDEN_PREFIX}nhom-{code}", signature):
                handled += self._handle(partial(claim_loose, group, config))
        for path in unmatched:
            if self._quiet(config, path, _signature([by_path[path]])):
                reason = unmatched_reason(path, config)
                handled += self._handle(
                    partial(refuse_loose_file, path, config.office_code, config, reason)
                )
        return handled

    @staticmethod
    def _handle(action: Callable[[], object]) -> int:
        try:
            action()
        except Exception:
            # The line keeps moving: one bad entry must not stop the watcher.
            log.exception("could not claim an inbox entry; it stays where it is")
        return 1


def make_observer(polling: bool) -> BaseObserver:
    """Inotify where it works; polling for network shares (SMB/NFS send no events)."""
    return PollingObserver(timeout=2) if polling else Observer()


def _observers(
    inbox: Path, folders: Sequence[FolderConfig], wake: threading.Event
) -> list[BaseObserver]:
    """One inotify observer for local folders, one polling observer for shares."""
    roots = [(inbox, needs_polling(inbox))]
    roots += [(f.path, f.polling) for f in folders if f.path.parent != inbox]
    observers: dict[bool, BaseObserver] = {}
    for root, polling in roots:
        observer = observers.setdefault(polling, make_observer(polling))
        observer.schedule(_Wake(wake), str(root), recursive=True)
        log.info("watching %s (%s)", root, "polling" if polling else "inotify")
    for observer in observers.values():
        observer.start()
    return list(observers.values())


def run(stop: threading.Event | None = None) -> None:
    """Watch the inbox and the configured folders until ``stop`` is set (or forever).

    At start the configuration is checked (a watched folder holding an output folder
    stops the watcher with the reason), claims a crash interrupted are finished, and
    every folder is scanned in full; then each event, and a timer, wakes a full pass.
    """
    inbox = Path(settings.INBOX_DIR)
    inbox.mkdir(parents=True, exist_ok=True)
    folders = check_folders(load_folders())
    resume_claims()
    stop = stop or threading.Event()
    wake = threading.Event()
    observers = _observers(inbox, folders, wake)
    tracker = StabilityTracker(settle_s=settings.WATCH_SETTLE_S, clock=time.monotonic)
    watcher = InboxWatcher(inbox, tracker, folders)
    settle = min([settings.WATCH_SETTLE_S, *(f.settle_s for f in folders if f.settle_s)])
    log.info("watching %s and %d configured folders (settle %.1fs)", inbox, len(folders), settle)
    try:
        while not stop.is_set():
            watcher.scan_once()
            # Events wake us early; the timeout re-checks folders that are settling.
            wake.wait(timeout=min(settings.WATCH_RESCAN_S, max(settle / 2, 0.2)))
            wake.clear()
    finally:
        for observer in observers:
            observer.stop()
        for observer in observers:
            observer.join(timeout=5)
