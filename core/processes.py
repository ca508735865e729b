"""This host's processes as Linux shows them: the children of a process."""

from __future__ import annotations

from pathlib import Path

__all__ = ["child_pids"]


def child_pids(pid: int) -> list[int]:
    """The processes that ``pid`` started, from any of its threads (``/proc``); none when
    it is gone."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found
