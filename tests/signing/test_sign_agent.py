"""Tests of the signing agent: ``motcua sign`` served by a resident process, and its fallbacks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import signing.agent
from signing.agent import protocol
from signing.agent.client import answers, sign_through_agent, socket_path
from signing.devpki import IssuedKey
from signing.verify.check import verify_pdf
from tests.support.pki import TEST_OFFICE, TEST_PASSPHRASE, TEST_SIGNER, read_stamps
from tests.support.service import MOTCUA, poll

PROMPT = "Mật khẩu khóa ký: "


def _start_agent(data_dir: Path, code: str | None = None) -> subprocess.Popen[str]:
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


def _stop(agent: subprocess.Popen[str]) -> str:
    agent.send_signal(signal.SIGTERM)
    log, _ = agent.communicate(timeout=30)
    return log


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture()
def agent(data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    running = _start_agent(data_dir)
    yield running
    if running.poll() is None:
        _stop(running)


@pytest.fixture()
def job(
    tmp_path: Path, unsigned_pdf: bytes, pki: IssuedKey, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """A PDF to sign in a folder of its own, the caller's working folder."""
    src = tmp_path / "ho so" / "ket-qua.pdf"
    src.parent.mkdir()
    src.write_bytes(unsigned_pdf)
    monkeypatch.chdir(src.parent)
    return {"src": src, "out": tmp_path / "da-ky" / "ket-qua.pdf", "p12": pki.pkcs12}


def _argv(job: dict[str, Path]) -> list[str]:
    """``motcua sign``'s arguments, relative to the job's folder, passphrase asked for."""
    return ["ket-qua.pdf", "-o", str(job["out"]), "--pkcs12", str(job["p12"])]


def test_motcua_sign_is_served_by_the_agent_without_loading_pyhanko(
    agent: subprocess.Popen[str], data_dir: Path, job: dict[str, Path], trust: list[Path]
) -> None:
    """With the agent running, ``motcua sign`` never imports pyHanko itself, and the file
    it gets (relative paths read from its own folder) is signed, stamped and trusted."""
    secret = job["src"].parent / "mat-khau.txt"
    secret.write_bytes(TEST_PASSPHRASE + b"\n")
    argv = ["sign", *_argv(job), "--passphrase-file", "mat-khau.txt"]
    script = (
        "import sys\n"
        "from motcua.cli import main\n"
        f"code = main({argv!r})\n"
        "print(code, 'pyhanko' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=job["src"].parent,
        env={**os.environ, "MOTCUA_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    assert lines[-1] == "0 False", done.stderr
    assert lines[0].startswith("Đã ký: ")  # the agent's child wrote on the caller's stdout
    assert done.stderr == ""
    signed = job["out"].read_bytes()
    assert verify_pdf(signed, trust).ok
    (stamp,) = read_stamps(signed)
    assert stamp.text.startswith(f"Ký bởi: {TEST_SIGNER}\nCơ quan: {TEST_OFFICE}\n")


def test_the_agent_asks_the_callers_terminal_for_the_passphrase(
    agent: subprocess.Popen[str],
    data_dir: Path,
    job: dict[str, Path],
    trust: list[Path],
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The passphrase is asked for by the caller, at the point the command needs it."""
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return TEST_PASSPHRASE.decode()

    code = sign_through_agent(socket_path(data_dir), _argv(job), "WARNING", ask=ask)
    assert code == 0
    assert asked == [PROMPT]
    assert "Đã ký" in capfd.readouterr().out
    assert verify_pdf(job["out"].read_bytes(), trust).ok


def test_a_wrong_passphrase_through_the_agent_exits_3_with_one_line(
    agent: subprocess.Popen[str],
    data_dir: Path,
    job: dict[str, Path],
    capfd: pytest.CaptureFixture[str],
) -> None:
    code = sign_through_agent(socket_path(data_dir), _argv(job), "WARNING", ask=lambda p: "sai")
    assert code == 3
    err = capfd.readouterr().err
    assert err.startswith("Lỗi: ") and "mật khẩu" in err.lower() and err.count("\n") == 1
    assert not job["out"].exists()


@pytest.mark.parametrize("gives_up", [EOFError, KeyboardInterrupt])
def test_giving_up_at_the_prompt_stops_the_agents_child(
    gives_up: type[BaseException],
    agent: subprocess.Popen[str],
    data_dir: Path,
    job: dict[str, Path],
    capfd: pytest.CaptureFixture[str],
) -> None:
    """End of input, or Ctrl-C (passed on to the child as SIGINT): nothing signed, exit 2."""

    def ask(prompt: str) -> str:
        raise gives_up

    code = sign_through_agent(socket_path(data_dir), _argv(job), "WARNING", ask=ask)
    assert code == 2
    assert "Lỗi: đã hủy" in capfd.readouterr().err
    assert not job["out"].exists()


def test_a_child_that_dies_is_reported_and_the_agent_serves_on(
    agent: subprocess.Popen[str],
    data_dir: Path,
    job: dict[str, Path],
    capfd: pytest.CaptureFixture[str],
) -> None:

    def kill_the_child(prompt: str) -> str:
        (child,) = _children(agent.pid)
        os.kill(child, signal.SIGKILL)
        poll(lambda: child not in _children(agent.pid), timeout=10, every=0.05, what="reaping")
        return TEST_PASSPHRASE.decode()

    path = socket_path(data_dir)
    assert sign_through_agent(path, _argv(job), "WARNING", ask=kill_the_child) == 2
    assert "dịch vụ ký dừng giữa chừng" in capfd.readouterr().err
    assert not job["out"].exists()
    code = sign_through_agent(path, _argv(job), "WARNING", ask=_right)
    assert code == 0 and job["out"].is_file()


def _children(parent: int) -> list[int]:
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


def test_the_agent_signs_many_at_once_with_the_sameanswers(
    agent: subprocess.Popen[str],
    data_dir: Path,
    job: dict[str, Path],
    unsigned_pdf: bytes,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A batch through the agent: one line per problem, the rest signed, exit 2."""
    folder = job["src"].parent
    for n in range(6):
        (folder / f"tai-lieu-{n}.pdf").write_bytes(unsigned_pdf)
    (folder / "hong.pdf").write_bytes(b"not a pdf")
    out = folder.parent / "lo"
    names = [f"tai-lieu-{n}.pdf" for n in range(6)] + ["hong.pdf"]
    argv = [*names, "-o", str(out), "--pkcs12", str(job["p12"]), "--jobs", "2"]
    code = sign_through_agent(socket_path(data_dir), argv, "WARNING", ask=_right)
    assert code == 2
    err = capfd.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("Lỗi: hong.pdf: ")
    assert sorted(p.name for p in out.iterdir()) == sorted(names[:6])


def test_a_file_name_that_is_not_utf8_is_signed_through_the_agent(
    agent: subprocess.Popen[str], data_dir: Path, job: dict[str, Path], unsigned_pdf: bytes
) -> None:
    """A name in a legacy encoding (as scans copied from old shares have) passes unchanged."""
    name = os.fsdecode(b"h\xf4 s\xf5.pdf")  # Latin-1 bytes: not UTF-8
    (job["src"].parent / name).write_bytes(unsigned_pdf)
    out = job["src"].parent.parent / "lo"
    argv = [name, "-o", str(out), "--pkcs12", str(job["p12"])]
    code = sign_through_agent(socket_path(data_dir), argv, "WARNING", ask=_right)
    assert code == 0
    assert [os.fsencode(p.name) for p in out.iterdir()] == [b"h\xf4 s\xf5.pdf"]


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


def _signed(folder: Path) -> set[str]:
    """Names in ``folder`` (none when it is not made yet); a file's temporary name while
    it is being written, its own once it is complete."""
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _right(prompt: str) -> str:
    return TEST_PASSPHRASE.decode()


def _never(prompt: str) -> str:
    raise AssertionError("the passphrase was asked for")
