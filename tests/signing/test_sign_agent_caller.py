"""The signing agent's child acts as its caller: the caller's umask, limits and groups."""

from __future__ import annotations

import os
import resource
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from signing.agent.caller import LIMITS, CallerProcess, read_caller, take_on, unlike_agent
from signing.agent.client import sign_through_agent, socket_path
from tests.support.sign_agent import right_passphrase, sign_argv


@contextmanager
def _limited(limit: int, soft: int) -> Iterator[None]:
    """This process (the caller) with a lower soft limit for a while."""
    before = resource.getrlimit(limit)
    resource.setrlimit(limit, (soft, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(limit, before)


def test_a_process_is_read_as_the_kernel_keeps_it() -> None:
    caller = read_caller(os.getpid())
    assert caller.groups == frozenset(os.getgroups())
    mask = os.umask(0o022)
    os.umask(mask)
    assert caller.umask == mask
    assert caller.limits == {limit: resource.getrlimit(limit) for limit in LIMITS}
    with _limited(resource.RLIMIT_NOFILE, 200):
        assert read_caller(os.getpid()).limits[resource.RLIMIT_NOFILE][0] == 200


def test_a_caller_already_exiting_cannot_be_read() -> None:
    """An exiting process (a zombie: the kernel shows no umask) is an OSError, which the agent
    answers by leaving the caller to sign itself, never by stopping."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        poll_zombie = Path(f"/proc/{child.pid}/stat")
        deadline = time.monotonic() + 30
        while poll_zombie.read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with pytest.raises(OSError):
            read_caller(child.pid)
    finally:
        child.wait()


def test_a_caller_whose_memory_limit_this_process_already_exceeds_is_not_taken_on() -> None:
    """A fork of the agent holds all the agent loaded: under a caller's lower ``ulimit -v`` it
    would fail after taking the command, so it gives the command back unchanged."""
    own = read_caller(os.getpid())
    tight = {**own.limits, resource.RLIMIT_AS: (1024 * 1024, resource.RLIM_INFINITY)}
    mask = os.umask(0o022)
    os.umask(mask)
    with pytest.raises(OSError):
        take_on(CallerProcess(own.pid, own.groups, 0o077 if mask != 0o077 else 0o027, tight))
    assert resource.getrlimit(resource.RLIMIT_AS) == own.limits[resource.RLIMIT_AS]
    assert os.umask(mask) == mask  # unchanged


def test_a_caller_with_other_groups_is_not_acted_for() -> None:
    """Groups cannot be taken on by a process that is not root: such a caller signs itself."""
    own = read_caller(os.getpid())
    assert unlike_agent(own) == ""
    stranger = max([os.getgid(), *os.getgroups()]) + 1
    other = CallerProcess(own.pid, own.groups | {stranger}, own.umask, own.limits)
    assert "other groups" in unlike_agent(other)


def test_limits_above_the_agents_own_are_kept_at_its_own() -> None:
    """A caller's limit higher than this process's hard limit cannot be raised to: the child
    keeps its own (taken on in a child process, so the test's own limits stay)."""
    code = (
        "import os, resource\n"
        "from signing.agent.caller import CallerProcess, take_on\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (100, 200))\n"
        "wide = {resource.RLIMIT_NOFILE: (500, resource.RLIM_INFINITY)}\n"
        "take_on(CallerProcess(os.getpid(), frozenset(), 0o027, wide))\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE), oct(os.umask(0)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["(200,", "200)", "0o27"]


def test_the_agents_child_takes_the_callers_umask(
    agent: subprocess.Popen[str], data_dir: Path, job: dict[str, Path]
) -> None:
    """A clerk whose umask keeps files private gets a signed result only they can read."""
    agents = read_caller(agent.pid).umask
    mask = 0o077 if agents != 0o077 else 0o027
    before = os.umask(mask)
    try:
        served = sign_through_agent(
            socket_path(data_dir), sign_argv(job), "WARNING", ask=right_passphrase
        )
    finally:
        os.umask(before)
    assert served == 0
    assert stat.S_IMODE(job["out"].stat().st_mode) == 0o666 & ~mask


def test_the_agents_child_keeps_to_the_callers_file_size_limit(
    agent: subprocess.Popen[str],
    data_dir: Path,
    job: dict[str, Path],
    capfd: pytest.CaptureFixture[str],
) -> None:
    """``ulimit -f`` of the caller holds in the child: a result larger than it is not written,
    and the command says so; without the limit the same command signs."""
    assert job["src"].stat().st_size > 16 * 1024
    with _limited(resource.RLIMIT_FSIZE, 16 * 1024):
        served = sign_through_agent(
            socket_path(data_dir), sign_argv(job), "WARNING", ask=right_passphrase
        )
    assert served not in (None, 0)
    assert not job["out"].exists()
    assert "Không ghi được tệp đã ký: ket-qua.pdf" in capfd.readouterr().err
    served = sign_through_agent(
        socket_path(data_dir), sign_argv(job), "WARNING", ask=right_passphrase
    )
    assert served == 0 and job["out"].exists()
