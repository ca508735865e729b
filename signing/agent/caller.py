"""The calling process as the kernel shows it: what a child of the agent takes on from it.

A ``motcua sign`` served by the agent must behave as if it ran in the caller's own
process. Its folder and environment come with the request; what the kernel keeps per
process is read here from ``/proc`` and ``prlimit``, where the caller cannot misstate it:
the umask (a clerk's ``umask 077`` keeps signed results private), the resource limits
(``ulimit``) and the supplementary groups, which a process that is not root cannot take
on, so a caller with other groups is refused and signs in its own process.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

__all__ = ["LIMITS", "CallerProcess", "read_caller", "take_on", "unlike_agent"]

LIMITS = (
    resource.RLIMIT_AS,
    resource.RLIMIT_CORE,
    resource.RLIMIT_CPU,
    resource.RLIMIT_DATA,
    resource.RLIMIT_FSIZE,
    resource.RLIMIT_NOFILE,
    resource.RLIMIT_NPROC,
)
"""The limits a child takes on: memory, core files, CPU time, file size, open files and
processes (the stack's limit is fixed when a process starts, and the others do not bear on
signing)."""

Limit = tuple[int, int]


@dataclass(frozen=True)
class CallerProcess:
    """What a child of the agent takes on from its caller."""

    pid: int
    """The caller's process id (``SO_PEERCRED``)."""

    groups: frozenset[int]
    """Its supplementary groups."""

    umask: int
    """Its file mode creation mask."""

    limits: dict[int, Limit]
    """Its soft and hard limit of each resource of :data:`LIMITS`."""


def read_caller(pid: int) -> CallerProcess:
    """Read process ``pid``'s groups, umask and limits. OSError when it cannot be read:
    gone, exiting (the kernel then shows no umask), or not the agent's user."""
    fields = _status(pid)
    try:
        groups = frozenset(int(group) for group in fields.get("Groups", "").split())
        umask = int(fields["Umask"].strip(), 8)
    except (KeyError, ValueError) as exc:
        raise OSError(f"process {pid}: no groups or umask to read") from exc
    limits = {limit: resource.prlimit(pid, limit) for limit in LIMITS}
    return CallerProcess(pid, groups, umask, limits)


def _status(pid: int | str) -> dict[str, str]:
    """The fields of ``/proc/<pid>/status``."""
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
        return dict(line.rstrip("\n").partition(":")[::2] for line in status)


def unlike_agent(caller: CallerProcess) -> str:
    """Why a child of this agent could not act as ``caller`` (it then signs in its own
    process), or "": it has supplementary groups other than the agent's."""
    if caller.groups != frozenset(os.getgroups()):
        return f"process {caller.pid} has other groups than the agent"
    return ""


def take_on(caller: CallerProcess) -> None:
    """Take ``caller``'s umask and limits in this process. A hard limit above this process's
    own cannot be raised: this process keeps its own, with the soft limit at most that.

    OSError when this process (a fork of the agent, with everything it loaded) already uses
    more memory than the caller's limits allow: the caller then signs in its own process,
    under its own limits, rather than fail here after it was taken on."""
    own = _status("self")
    for limit, field in ((resource.RLIMIT_AS, "VmSize"), (resource.RLIMIT_DATA, "VmData")):
        soft = caller.limits.get(limit, (resource.RLIM_INFINITY,) * 2)[0]
        used = int(own.get(field, "0 kB").split()[0]) * 1024
        if soft != resource.RLIM_INFINITY and used > soft:
            raise OSError(f"this process uses {used} bytes, over the caller's limit {soft}")
    os.umask(caller.umask)
    for limit, (soft, hard) in caller.limits.items():
        _, own_hard = resource.getrlimit(limit)
        hard = _lower(hard, own_hard)
        resource.setrlimit(limit, (_lower(soft, hard), hard))


def _lower(a: int, b: int) -> int:
    """The lower of two limits, either of which may be unlimited."""
    if a == resource.RLIM_INFINITY:
        return b
    if b == resource.RLIM_INFINITY:
        return a
    return min(a, b)
