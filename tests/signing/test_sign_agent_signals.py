"""Stopping a batch signed through the agent: signals to ``motcua sign``, the agent stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pki import TEST_PASSPHRASE
from tests.support.service import poll
from tests.support.sign_agent import child_processes as _children
from tests.support.sign_agent import start_agent as _start_agent
from tests.support.sign_agent import stop_agent as _stop


def _long_batch(
    folder: Path, p12: Path, pdf: bytes, data_dir: Path, *, ignoring: str = ""
) -> tuple[subprocess.Popen[str], Path, list[str]]:
    """``motcua sign`` of 150 documents from ``folder`` (one worker), once its first is
    signed; ``ignoring`` names a signal the command starts with ignored (as ``nohup`` does)."""
    names = [f"tai-lieu-{n:03d}.pdf" for n in range(150)]
    for name in names:
        (folder / name).write_bytes(pdf)
    (folder / "mat-khau.txt").write_bytes(TEST_PASSPHRASE + b"\n")
    out = folder.parent / "lo"
    argv = ["sign", *names, "-o", str(out), "--pkcs12", str(p12)]
    argv += ["--passphrase-file", "mat-khau.txt", "--jobs", "1"]
    script = (
        "import signal, sys\n"
        + (f"signal.signal(signal.{ignoring}, signal.SIG_IGN)\n" if ignoring else "")
        + "from motcua.cli import main\n"
        + f"sys.exit(main({argv!r}))\n"
    )
    command = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=folder,
        env={**os.environ, "MOTCUA_DATA_DIR": str(data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        poll(lambda: _signed(out) & set(names), timeout=60, every=0.02, what="a signed file")
    except AssertionError:
        command.kill()
        raise
    return command, out, names


def _all_signed(command: subprocess.Popen[str], out: Path, names: list[str]) -> None:
    """The batch ends well: exit 0, every document signed."""
    try:
        command.communicate(timeout=120)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 0
    assert _signed(out) == set(names)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_stopping_the_command_mid_batch_stops_the_agents_child(
    stop: signal.Signals,
    agent: subprocess.Popen[str],
    data_dir: Path,
    job: dict[str, Path],
    unsigned_pdf: bytes,
) -> None:
    """Ctrl-C, SIGTERM or SIGHUP to ``motcua sign`` stop the child as Ctrl-C stops the
    command (exit 2, "đã dừng", no half-written file); even a killed command's child stops."""
    command, out, names = _long_batch(job["src"].parent, job["p12"], unsigned_pdf, data_dir)
    try:
        command.send_signal(stop)
        _out, err = command.communicate(timeout=60)
    finally:
        if command.poll() is None:
            command.kill()
    poll(lambda: not _children(agent.pid), timeout=30, every=0.1, what="the child to stop")
    signed = _signed(out)
    assert 0 < len(signed) < len(names)
    assert signed <= set(names)  # nothing half-written left behind
    if stop != signal.SIGKILL:
        assert command.returncode == 2
        assert "Lỗi: đã dừng" in err


def test_a_signal_the_command_ignores_is_not_passed_on(
    agent: subprocess.Popen[str], data_dir: Path, job: dict[str, Path], unsigned_pdf: bytes
) -> None:
    """Under ``nohup`` (SIGHUP ignored) the batch goes on to the end, as in-process."""
    folder = job["src"].parent
    command, out, names = _long_batch(folder, job["p12"], unsigned_pdf, data_dir, ignoring="SIGHUP")
    command.send_signal(signal.SIGHUP)
    _all_signed(command, out, names)


def test_a_stopped_agent_leaves_the_data_directory_to_the_next_one(
    agent: subprocess.Popen[str], data_dir: Path, job: dict[str, Path], unsigned_pdf: bytes
) -> None:
    """An agent stopped while its child still signs: a new agent starts at once (the old
    child keeps no lock), and the batch still ends well."""
    command, out, names = _long_batch(job["src"].parent, job["p12"], unsigned_pdf, data_dir)
    _stop(agent)
    assert command.poll() is None  # still signing
    _stop(_start_agent(data_dir))
    _all_signed(command, out, names)


def _signed(folder: Path) -> set[str]:
    """Names in ``folder`` (none when it is not made yet); a file's temporary name while
    it is being written, its own once it is complete."""
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()
