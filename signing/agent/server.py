"""The signing agent: pyHanko loaded once, a forked process per ``motcua sign``.

Importing pyHanko, cryptography and pypdf takes most of a second, many times what
signing one document takes. The agent imports them once and then only forks: each
``motcua sign`` that finds its socket is served by a new child of the agent, which
writes straight to the caller's terminal (its descriptors are passed over the socket),
works in the caller's folder and runs the very code ``motcua sign`` runs in-process.

The agent itself never holds a key or a passphrase: it accepts a connection, checks
that the caller is the agent's own user (``SO_PEERCRED``), forks and closes its copy.
The child reads the request, unlocks the key, signs and exits; nothing of it stays
behind. The socket is made readable by its owner only, in the data directory's
``run/`` folder (itself private).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
import signal
import socket
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from signing.agent import protocol
from signing.agent.client import answers

__all__ = ["WARM_MODULES", "AlreadyServing", "serve"]

log = logging.getLogger(__name__)

WARM_MODULES = (
    "signing.oneshot",
    "signing.stamp.freespace",
    "signing.stamp.font_store",
    "core.thumbnail",
    "pypdf.filters",
    "pyhanko.pdf_utils.filters",
)
"""What signing a document imports, imported by the agent before it forks anyone."""

MAX_CHILDREN = 8
"""Signing commands served at once; a caller beyond them signs in its own process."""

REQUEST_TIMEOUT_S = 10.0
"""How long a child waits for the caller's request once connected."""


class AlreadyServing(Exception):
    """Another agent answers on this socket."""


def serve(
    path: Path,
    stopping: Callable[[], bool],
    log_to: Callable[[str], None],
    *,
    owner: int | None = None,
) -> None:
    """Serve ``motcua sign`` on the Unix socket ``path`` until ``stopping()`` is true.

    ``log_to(level)`` sets up logging to standard error in each child, once it holds
    the caller's, at the level the caller's command asked for. ``owner`` is the only
    user id served (default: this process's own). Raises :class:`AlreadyServing` when
    a live agent already answers at ``path``.
    """
    uid = os.getuid() if owner is None else owner
    for name in WARM_MODULES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()  # what is loaded now stays shared with every child, untouched
    listener = _listen(path)
    children: set[int] = set()
    log.info("signing agent ready on %s", path)
    try:
        while not stopping():
            _reap(children)
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                caller = protocol.peer(conn)
                if caller.uid != uid:
                    log.warning("signing agent: refused process %d of user %d", *caller[:2])
                    continue
                if len(children) >= MAX_CHILDREN:
                    log.warning("signing agent: %d commands already served", len(children))
                    continue
                children.add(_fork(listener, conn, log_to))
    finally:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        log.info("signing agent stopped")


def _listen(path: Path) -> socket.socket:
    """Bind ``path``, replacing a socket no agent answers on any more."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        if answers(path):
            raise AlreadyServing(str(path))
        path.unlink()  # left by an agent that died
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_umask)
    listener.listen(16)
    listener.settimeout(0.5)
    return listener


def _fork(listener: socket.socket, conn: socket.socket, log_to: Callable[[str], None]) -> int:
    with warnings.catch_warnings():
        # Python 3.12 warns about fork() in a process with threads; the child runs
        # only the request and leaves through os._exit.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid:
        return pid
    code = 2
    try:
        listener.close()
        code = _serve_one(conn, log_to)
    except BaseException:
        log.exception("signing agent: request failed")
    finally:
        os._exit(code)


def _serve_one(conn: socket.socket, log_to: Callable[[str], None]) -> int:
    """In the child: take the caller's terminal and request, sign, say how it ended."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    conn.settimeout(REQUEST_TIMEOUT_S)
    terminal = protocol.receive_terminal(conn)
    request = protocol.receive(conn) if terminal is not None else None
    if terminal is None or request is None:
        return 2
    conn.settimeout(None)
    for target, fd in enumerate(terminal):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(str(request["cwd"]))
    root = logging.getLogger()
    for handler in list(root.handlers):  # the agent's own log is not the caller's
        root.removeHandler(handler)
    log_to(str(request.get("log_level") or "WARNING"))
    protocol.send(conn, {"pid": os.getpid()})
    code = _sign(list(request["argv"]), lambda prompt: _ask(conn, prompt))
    sys.stdout.flush()
    sys.stderr.flush()
    protocol.send(conn, {"exit": code})
    return code


def _ask(conn: socket.socket, prompt: str) -> str:
    """Ask the caller's terminal for the passphrase (the caller prompts, without echo)."""
    protocol.send(conn, {"ask": prompt})
    answer = protocol.receive(conn)
    if answer is None or not isinstance(answer.get("answer"), str):
        raise EOFError
    return str(answer["answer"])


def _sign(argv: list[str], ask: Callable[[str], str]) -> int:
    from signing.arguments import sign_parser
    from signing.oneshot import run_sign

    try:
        args = sign_parser().parse_args(argv)
    except SystemExit as stop:  # the caller parsed the same arguments: only a bug lands here
        return stop.code if isinstance(stop.code, int) else 2
    return run_sign(args, ask=ask)


def _reap(children: set[int]) -> None:
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            done, _status = os.waitpid(pid, os.WNOHANG)
            if not done:
                continue
        children.discard(pid)
