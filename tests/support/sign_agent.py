"""The signing agent in tests: started and stopped as a process, its children, its callers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from signing.agent.client import answers, socket_path
from tests.support.pki import TEST_PASSPHRASE
from tests.support.service import MOTCUA, poll

__all__ = [
    "child_processes",
    "never_asked",
    "right_passphrase",
    "sign_argv",
    "start_agent",
    "stop_agent",
]


def start_agent(data_dir: Path, code: str | None = None) -> subprocess.Popen[str]:
    """``motcua sign-agent`` of ``data_dir`` (or ``code`` run as a script), once it listens."""
    env = {**os.environ, "MOTCUA_DATA_DIR": str(data_dir), "MOTCUA_LOG_LEVEL": "INFO"}
    argv = [*MOTCUA, "sign-agent"] if code is None else [sys.executable, "-c", code]
    agent = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        poll(
            lambda: answers(socket_path(data_dir)) or agent.poll() is not None,
            timeout=60,
            every=0.1,
            what="the signing agent's socket",
        )
    except AssertionError:
        agent.kill()
        raise
    assert agent.poll() is None, agent.communicate()[0]
    return agent


def stop_agent(agent: subprocess.Popen[str]) -> str:
    """Stop the agent as its service manager would (SIGTERM); its log."""
    agent.send_signal(signal.SIGTERM)
    log, _ = agent.communicate(timeout=30)
    return log


def sign_argv(job: dict[str, Path]) -> list[str]:
    """``motcua sign``'s arguments, relative to the job's folder, passphrase asked for."""
    return ["ket-qua.pdf", "-o", str(job["out"]), "--pkcs12", str(job["p12"])]


def child_processes(parent: int) -> list[int]:
    """Live child processes of ``parent`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def right_passphrase(prompt: str) -> str:
    """A caller's answer at the prompt: the key's passphrase."""
    return TEST_PASSPHRASE.decode()


def never_asked(prompt: str) -> str:
    """A caller's prompt that must not be reached."""
    raise AssertionError("the passphrase was asked for")
