"""``motcua sign`` through the signing agent: its socket found, the request handed over.

No library beyond Python's own (and motcua's light modules), so that a command served
by the agent never loads pyHanko.
When no agent answers, or it turns the request down, the command signs in its own
process as it always could. Once the agent's child has said it took the request, the
command answers ``go`` and from then on never signs itself: a child that hears no
``go`` (the command gave up waiting, or was stopped) signs nothing.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from signing.agent import protocol
from signing.errors import STOPPED_VI

__all__ = ["SOCKET_NAME", "answers", "sign_through_agent", "socket_path"]

log = logging.getLogger(__name__)

SOCKET_NAME = "sign-agent.sock"
"""The agent's socket, in the data directory's ``run/`` folder."""

CONNECT_TIMEOUT_S = 2.0
"""How long the command waits for the agent to take its request before signing itself."""

_LOST = "Lỗi: dịch vụ ký dừng giữa chừng; chạy lại lệnh để ký tiếp các tài liệu còn lại"
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that stop ``motcua sign``: passed on to the agent's child as Ctrl-C."""


def socket_path(data_dir: Path) -> Path:
    """Where the agent of the data directory ``data_dir`` listens."""
    return data_dir / "run" / SOCKET_NAME


def answers(path: Path) -> bool:
    """Whether an agent listens at ``path`` (a socket left by a dead one does not)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(CONNECT_TIMEOUT_S)
        try:
            probe.connect(str(path))
        except OSError:
            return False
        return True


def sign_through_agent(
    path: Path,
    argv: list[str],
    log_level: str,
    *,
    ask: Callable[[str], str] | None = None,
) -> int | None:
    """Have the agent at ``path`` run ``motcua sign argv``; its exit code, or None.

    None means the agent is not there or did not take the request, and nothing was
    signed: the caller signs in its own process. The agent's child works in this
    process's folder and environment, writes to its standard output and error and
    asks for the passphrase through ``ask`` (default: :func:`getpass.getpass`).
    Ctrl-C, SIGTERM or SIGHUP here stop that child as Ctrl-C stops ``motcua sign``.
    """
    if not _terminal_open():
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(CONNECT_TIMEOUT_S)
        conn.connect(str(path))
        if protocol.peer(conn).uid != os.getuid():
            conn.close()  # not our own agent: it gets neither the terminal nor a passphrase
            return None
        protocol.send_terminal(conn, (0, 1, 2))
        request = {
            "argv": argv,
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "log_level": log_level,
        }
        protocol.send(conn, request)
        hello = protocol.receive(conn)
    except (OSError, ValueError, protocol.ProtocolError):
        conn.close()  # nothing was taken yet
        log.debug("no signing agent at %s: signing in this process", path)
        return None
    except KeyboardInterrupt:
        conn.close()  # a child that took the request but hears no "go" signs nothing
        print(STOPPED_VI, file=sys.stderr)
        return 2
    child = _child(hello)
    if child is None:  # refused (too many at once, another namespace, new code): nothing done
        conn.close()
        log.info("the signing agent at %s did not take the command: signing here", path)
        return None
    with conn, _stopping_passed_on(child):
        try:
            protocol.send(conn, {"go": True})
        except OSError:  # the child left before its go: it signed nothing
            return None
        log.info("served by the signing agent at %s", path)
        conn.settimeout(None)
        return _follow(conn, ask or getpass.getpass, child)


def _terminal_open() -> bool:
    """Whether standard input, output and error are all open (the child gets all three)."""
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return False
    return True


def _child(hello: protocol.Message | None) -> Callable[[], None] | None:
    """A way to stop the child that took the request (None when it was not taken)."""
    if hello is None or not isinstance(hello.get("pid"), int):
        return None
    pid = int(hello["pid"])
    try:
        handle = os.pidfd_open(pid)  # stays this very process, even once it has exited
    except OSError:
        return None

    def stop() -> None:
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(handle, signal.SIGINT)

    return stop


@contextlib.contextmanager
def _stopping_passed_on(stop: Callable[[], None]) -> Iterator[None]:
    """While the block runs, Ctrl-C, SIGTERM and SIGHUP stop the child instead of us (a
    signal this process ignores, as under ``nohup``, stays ignored)."""

    def forward(signum: int, frame: FrameType | None) -> None:
        stop()

    with _handling(forward):
        yield


@contextlib.contextmanager
def _handling(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """``handler`` for each stopping signal this process does not ignore, for the block."""
    previous = {}
    for number in _FORWARDED:
        if signal.getsignal(number) != signal.SIG_IGN:
            previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _follow(conn: socket.socket, ask: Callable[[str], str], stop: Callable[[], None]) -> int:
    """Answer the child's questions until it says how the command ended."""
    sys.stdout.flush()
    while True:
        try:
            message = protocol.receive(conn)
            if message is None:
                print(_LOST, file=sys.stderr)
                return 2
            if "exit" in message:
                return int(message["exit"])
            answer = _asked(ask, str(message.get("ask", "")), stop)
            protocol.send(conn, {"answer": answer})
        except (OSError, ValueError, protocol.ProtocolError):
            print(_LOST, file=sys.stderr)
            return 2


def _asked(ask: Callable[[str], str], prompt: str, stop: Callable[[], None]) -> str | None:
    """The person's answer to ``prompt``; None when they gave up (end of input), or when
    Ctrl-C, SIGTERM or SIGHUP came meanwhile (the child is then stopped too)."""

    def give_up(signum: int, frame: FrameType | None) -> None:
        stop()
        raise KeyboardInterrupt

    try:
        with _handling(give_up):
            return ask(prompt)
    except (EOFError, KeyboardInterrupt):
        return None
