"""CPU time and memory of a process tree, read from /proc."""

from __future__ import annotations

import os
import resource
import threading
from dataclasses import dataclass
from pathlib import Path

_SAMPLE_S = 0.05
"""How often :class:`TreeSampler` samples the memory of the process tree."""

RUSAGE_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(f'usage={usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}')\n"
    "sys.exit(code)\n"
)
"""Runs a command, then prints the largest resident size (KB) of any process under it
and their CPU seconds."""


def children_cpu() -> float:
    """CPU seconds used so far by the finished children of this process (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user and system) used so far by process ``root`` and its descendants."""
    stats = _stats()
    ticks = sum(stats[pid].cpu_ticks for pid in _subtree(root, stats) if pid in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, from the parent links in /proc."""
    return _subtree(root, _stats())


class TreeSampler:
    """Samples the memory (PSS) of a process and all its descendants from /proc."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pid: int) -> None:
        self._thread = threading.Thread(target=self._run, args=(pid,), daemon=True)
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak

    def _run(self, root: int) -> None:
        while not self._stop.is_set():
            total = sum(proportional_kb(pid) for pid in descendants(root)) * 1024
            self.peak = max(self.peak, total)
            self._stop.wait(_SAMPLE_S)


def proportional_kb(pid: int) -> int:
    """A process's proportional set size (PSS): its resident memory, pages it shares with
    others counted in part, so that the sum over a forked process tree is real memory."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class _Stat:
    """What /proc/PID/stat says of a process that the tree's figures need."""

    parent: int
    cpu_ticks: int
    """User and system time so far, in clock ticks."""


def _stats() -> dict[int, _Stat]:
    """Every process's parent and CPU ticks, from one read of /proc/*/stat."""
    stats: dict[int, _Stat] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            # The command name, in parentheses, may hold spaces: the fields follow its ")".
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        stats[int(entry)] = _Stat(int(fields[1]), int(fields[11]) + int(fields[12]))
    return stats


def _subtree(root: int, stats: dict[int, _Stat]) -> list[int]:
    """``root`` and every process below it in ``stats``."""
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat.parent, []).append(pid)
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found
