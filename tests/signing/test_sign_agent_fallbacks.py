"""When ``motcua sign`` signs in its own process: no agent, a dead or stale one, another user's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import signing.agent
from signing.agent import protocol
from signing.agent.client import sign_through_agent, socket_path
from tests.support.pki import TEST_PASSPHRASE
from tests.support.service import MOTCUA, poll
from tests.support.sign_agent import child_processes as _children
from tests.support.sign_agent import never_asked as _never
from tests.support.sign_agent import sign_argv as _argv
from tests.support.sign_agent import start_agent as _start_agent
from tests.support.sign_agent import stop_agent as _stop


def test_no_agent_or_a_dead_ones_socket_means_signing_here(data_dir: Path) -> None:
    """No socket, or one nobody listens on: the caller signs in its own process."""
    path = socket_path(data_dir)
    assert sign_through_agent(path, ["x.pdf"], "WARNING") is None
    path.parent.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))  # bound, never listening, then closed: left behind
    assert path.exists()
    assert sign_through_agent(path, ["x.pdf"], "WARNING") is None


def test_an_agent_replaces_a_dead_ones_socket_and_a_second_one_is_refused(
    data_dir: Path, job: dict[str, Path]
) -> None:
    path = socket_path(data_dir)
    path.parent.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))
    first = _start_agent(data_dir)
    try:
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        second = subprocess.run(
            [*MOTCUA, "sign-agent"],
            env={**os.environ, "MOTCUA_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert "dịch vụ ký đã chạy" in second.stderr
        code = sign_through_agent(path, _argv(job), "WARNING", ask=lambda p: "sai")
        assert code == 3  # the first one still serves
    finally:
        log = _stop(first)
    assert not path.exists()
    assert "signing agent stopped" in log


def test_an_agent_serves_no_other_user(data_dir: Path, job: dict[str, Path]) -> None:
    """A caller of another user id is turned away unheard: it signs in its own process."""
    code = (
        "import os, signal, threading\n"
        "from pathlib import Path\n"
        "from signing.agent.client import socket_path\n"
        "from signing.agent.server import serve\n"
        "stop = threading.Event()\n"
        "signal.signal(signal.SIGTERM, lambda *a: stop.set())\n"
        f"serve(socket_path(Path({str(data_dir)!r})), stop.is_set, lambda level: None,"
        " owner=os.getuid() + 1)\n"
    )
    stranger = _start_agent(data_dir, code)
    try:
        served = sign_through_agent(socket_path(data_dir), _argv(job), "WARNING", ask=_never)
    finally:
        log = _stop(stranger)
    assert served is None
    assert "refused process" in log
    assert not job["out"].exists()


def test_a_caller_that_finds_another_users_agent_signs_itself(
    agent: subprocess.Popen[str],
    data_dir: Path,
    job: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The command checks the agent too: one of another user gets no terminal, no passphrase."""
    real = protocol.peer
    monkeypatch.setattr(protocol, "peer", lambda conn: real(conn)._replace(uid=os.getuid() + 1))
    served = sign_through_agent(socket_path(data_dir), _argv(job), "WARNING", ask=_never)
    assert served is None
    assert not job["out"].exists()


def test_a_child_that_hears_no_go_signs_nothing(
    agent: subprocess.Popen[str], data_dir: Path, job: dict[str, Path]
) -> None:
    """A caller that stops waiting after handing over its request (and signs itself) does
    not get the same files signed twice: without its go the agent's child does nothing."""
    secret = job["src"].parent / "mat-khau.txt"
    secret.write_bytes(TEST_PASSPHRASE + b"\n")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(socket_path(data_dir)))
        protocol.send_terminal(conn, (0, 1, 2))
        argv = [*_argv(job), "--passphrase-file", str(secret)]
        protocol.send(conn, {"argv": argv, "cwd": os.getcwd(), "env": {}, "log_level": "INFO"})
        hello = protocol.receive(conn)
        assert hello is not None and isinstance(hello["pid"], int)
        time.sleep(2)  # connected, no go: a child that went on would have signed by now
        assert not job["out"].exists()
    poll(lambda: not _children(agent.pid), timeout=15, every=0.05, what="the child to leave")
    assert not job["out"].exists()


def test_an_agent_whose_code_changed_stops_and_the_command_signs_itself(
    agent: subprocess.Popen[str], data_dir: Path, job: dict[str, Path]
) -> None:
    """After an upgrade the agent does not sign with the code it loaded before: the
    command finds it stopping and signs in its own process."""
    module = Path(signing.agent.__file__)
    before = module.stat()
    try:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        served = sign_through_agent(socket_path(data_dir), _argv(job), "WARNING", ask=_never)
        log, _ = agent.communicate(timeout=30)
    finally:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert served is None
    assert agent.returncode == 0 and "code changed on disk" in log
    assert not socket_path(data_dir).exists()


def test_a_command_without_its_standard_output_signs_itself(
    agent: subprocess.Popen[str], data_dir: Path, job: dict[str, Path]
) -> None:
    """A closed descriptor cannot be handed over: the command signs in its own process."""
    script = (
        "import os\n"
        "from pathlib import Path\n"
        "from signing.agent.client import sign_through_agent\n"
        "os.close(1)\n"
        f"served = sign_through_agent(Path({str(socket_path(data_dir))!r}), ['x.pdf'], 'INFO')\n"
        "os.write(2, repr(served).encode())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.stderr.decode().endswith("None")
