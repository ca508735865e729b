"""``motcua sign`` through the signing agent: its socket found, the request handed over.

Standard library only, so that a command served by the agent never loads pyHanko.
When no agent answers, or it turns the request down, the command signs in its own
process as it always could.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from signing.agent import protocol

__all__ = ["SOCKET_NAME", "answers", "sign_through_agent", "socket_path"]

log = logging.getLogger(__name__)

SOCKET_NAME = "sign-agent.sock"
"""The agent's socket, in the data directory's ``run/`` folder."""

CONNECT_TIMEOUT_S = 2.0

_LOST = "Lỗi: dịch vụ ký dừng giữa chừng; chạy lại lệnh để ký tiếp các tài liệu còn lại"


def socket_path(data_dir: Path) -> Path:
    """Where the agent of the data directory ``data_dir`` listens."""
    return data_dir / "run" / SOCKET_NAME


def answers(path: Path) -> bool:
    """Whether an agent listens at ``path`` (a socket left by a dead one does not)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
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
    signed: the caller signs in its own process. The agent's child writes to this
    process's standard output and error and asks for the passphrase through ``ask``
    (default: :func:`getpass.getpass`).
    Ctrl-C here is passed on to that child, which stops as ``motcua sign`` does.
    """
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(CONNECT_TIMEOUT_S)
        conn.connect(str(path))
        if protocol.peer(conn).uid != os.getuid():
            conn.close()  # not our own agent: it gets neither the terminal nor a passphrase
            return None
        protocol.send_terminal(conn, (0, 1, 2))
        protocol.send(conn, {"argv": argv, "cwd": os.getcwd(), "log_level": log_level})
        hello = protocol.receive(conn)
    except (OSError, protocol.ProtocolError):
        conn.close()
        log.debug("no signing agent at %s: signing in this process", path)
        return None
    if hello is None or not isinstance(hello.get("pid"), int):
        conn.close()  # refused (another user, too many at once): nothing was done
        log.info("the signing agent at %s did not take the command: signing here", path)
        return None
    log.info("served by the signing agent at %s (process %d)", path, hello["pid"])
    conn.settimeout(None)
    with conn:
        return _follow(conn, int(hello["pid"]), ask or getpass.getpass)


def _follow(conn: socket.socket, child: int, ask: Callable[[str], str]) -> int:
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
            answer: str | None
            try:
                answer = ask(str(message.get("ask", "")))
            except EOFError:
                answer = None
            protocol.send(conn, {"answer": answer})
        except KeyboardInterrupt:
            # the child stops its workers, says so on our stderr, and exits
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGINT)
        except (OSError, protocol.ProtocolError):
            print(_LOST, file=sys.stderr)
            return 2
