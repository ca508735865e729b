"""The signing agent serving ``motcua sign``: its output, the caller's passphrase, its children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from signing.agent.client import sign_through_agent, socket_path
from signing.verify.check import verify_pdf
from tests.support.pki import TEST_OFFICE, TEST_PASSPHRASE, TEST_SIGNER, read_stamps
from tests.support.service import poll
from tests.support.sign_agent import child_processes as _children
from tests.support.sign_agent import right_passphrase as _right
from tests.support.sign_agent import sign_argv as _argv

PROMPT = "Mật khẩu khóa ký: "


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
