"""The signing agent: pyHanko loaded once, a forked process per ``motcua sign``.

Importing pyHanko, cryptography and pypdf takes most of a second, many times what
signing one document takes. The agent imports them once and then only forks: each
``motcua sign`` that finds its socket is served by a new child of the agent, which
writes straight to the caller's terminal (its descriptors are passed over the socket),
works in the caller's folder and runs the very code ``motcua sign`` runs in-process.

The agent itself never holds a key or a passphrase: it accepts a connection, checks
that the caller is the agent's own user and groups, in the agent's own namespaces
(``SO_PEERCRED``, ``/proc``), forks and closes its copy. The child takes the caller's
folder and environment, umask and resource limits (:mod:`signing.agent.caller`), waits
for the caller's go, unlocks the key, signs and exits;
nothing of it stays behind. A child whose caller goes away is stopped as by Ctrl-C.
The socket is made for its owner only, in the data directory's ``run/`` folder (itself
private), and an agent holds ``run/sign-agent.lock`` while it runs: a second one
refuses to start, and only the agent holding the lock replaces or removes the socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from signing.agent import protocol
from signing.agent.caller import CallerProcess, read_caller, take_on, unlike_agent
from signing.errors import STOPPED_VI

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


LOCK_NAME = "sign-agent.lock"
"""Held by the running agent, beside its socket."""


class AlreadyServing(Exception):
    """Another agent of this data directory is running."""


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
    another agent runs for ``path``, OSError when the socket cannot be made.
    """
    uid = os.getuid() if owner is None else owner
    with _held_lock(path.with_name(LOCK_NAME)):
        for name in WARM_MODULES:
            importlib.import_module(name)
        gc.collect()
        gc.freeze()  # what is loaded now stays shared with every child, untouched
        listener, bound = _listen(path)
        children: set[int] = set()
        loaded = code_stamp()
        log.info("signing agent ready on %s", path)
        try:
            while not stopping():
                _reap(children)
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:  # out of descriptors: wait for children to finish
                    log.exception("signing agent: cannot accept")
                    time.sleep(0.5)
                    continue
                with conn:
                    if code_stamp() != loaded:  # the caller signs itself, with the new code
                        log.warning("signing agent: its code changed on disk; stopping")
                        return
                    caller = _admit(protocol.peer(conn), uid, len(children))
                    if isinstance(caller, str):
                        log.warning("signing agent: %s", caller)
                        continue
                    try:
                        children.add(_fork(listener, conn, caller, log_to))
                    except OSError:
                        log.exception("signing agent: cannot start a child")
        finally:
            listener.close()
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == bound:  # ours, not a successor's
                    path.unlink()
            log.info("signing agent stopped")


@contextlib.contextmanager
def _held_lock(lock: Path) -> Iterator[None]:
    """Hold ``lock`` for the block; :class:`AlreadyServing` when another agent holds it."""
    lock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            # a POSIX record lock belongs to this process alone: the children it forks
            # (still signing) do not keep it once the agent is gone
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise AlreadyServing(str(lock.with_name(lock.stem + ".sock"))) from None
        yield
    finally:
        os.close(handle)


def code_stamp() -> tuple[tuple[str, int], ...]:
    """What the signing code on disk is: the times of change of motcua's signing and core
    modules and of the signing libraries' own (an upgrade writes them anew). An agent
    whose code changed since it started stops; a supervised one is started again."""
    root = Path(__file__).resolve().parents[2]
    files = [*root.glob("signing/**/*.py"), *root.glob("core/**/*.py")]
    for library in (
        "pyhanko.version",
        "pyhanko_certvalidator",
        "pypdf",
        "cryptography",
        "asn1crypto",
    ):
        files.append(Path(str(importlib.import_module(library).__file__)))
    return tuple(sorted((str(f), f.stat().st_mtime_ns) for f in files))


def _listen(path: Path) -> tuple[socket.socket, int]:
    """Bind ``path`` (a socket left there by an agent that died is replaced); the
    listening socket and the inode of the file it made."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # the lock is ours: nothing else listens there
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    except OSError:
        listener.close()
        raise
    finally:
        os.umask(old_umask)
    listener.listen(16)
    listener.settimeout(0.5)
    return listener, os.stat(path).st_ino


def _admit(caller: protocol.Peer, uid: int, serving: int) -> CallerProcess | str:
    """The caller's process, to be served by a child; or why it is not served here (it
    then signs in its own process)."""
    if caller.uid != uid or caller.gid != os.getgid():
        return f"refused process {caller.pid} of user {caller.uid}, group {caller.gid}"
    if serving >= MAX_CHILDREN:
        return f"{serving} commands already served"
    try:
        for space in ("mnt", "pid"):  # the same files, and a process id the caller can signal
            if os.stat(f"/proc/{caller.pid}/ns/{space}").st_ino != _own_namespace(space):
                return f"process {caller.pid} runs in another {space} namespace"
        process = read_caller(caller.pid)
    except OSError:
        return f"cannot see process {caller.pid}"
    return unlike_agent(process) or process


def _own_namespace(space: str) -> int:
    return os.stat(f"/proc/self/ns/{space}").st_ino


def _fork(
    listener: socket.socket,
    conn: socket.socket,
    caller: CallerProcess,
    log_to: Callable[[str], None],
) -> int:
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
        os.setsid()  # the Ctrl-C of the agent's terminal is not the caller's
        code = _serve_one(conn, caller, log_to)
    except KeyboardInterrupt:  # stopped outside the signing code's own handling
        with contextlib.suppress(Exception):
            print(STOPPED_VI, file=sys.stderr)
            protocol.send(conn, {"exit": code})
    except BaseException:
        log.exception("signing agent: request failed")
        with contextlib.suppress(Exception):
            protocol.send(conn, {"exit": code})
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _serve_one(conn: socket.socket, caller: CallerProcess, log_to: Callable[[str], None]) -> int:
    """In the child: take the caller's terminal, request, umask and limits, sign, say how it
    ended."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    conn.settimeout(REQUEST_TIMEOUT_S)
    terminal = protocol.receive_terminal(conn)
    request = protocol.receive(conn) if terminal is not None else None
    if terminal is None or request is None:
        return 2
    for target, fd in enumerate(terminal):
        os.dup2(fd, target)
        os.close(fd)
    root = logging.getLogger()
    for handler in list(root.handlers):  # the agent's own log is not the caller's
        root.removeHandler(handler)
    log_to(str(request.get("log_level") or "WARNING"))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request.get("env") or {}).items()})
    time.tzset()
    try:
        os.chdir(str(request["cwd"]))
        take_on(caller)
    except (OSError, ValueError):
        return 2  # not taken: the caller signs in its own folder itself
    protocol.send(conn, {"pid": os.getpid()})
    go = protocol.receive(conn)
    if not go or go.get("go") is not True:
        return 2  # the caller gave up waiting (and signs itself) or went away
    conn.settimeout(None)
    finished = threading.Event()
    threading.Thread(target=_stop_when_caller_leaves, args=(conn, finished), daemon=True).start()
    code = _sign(list(request["argv"]), lambda prompt: _ask(conn, prompt))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # done: a late Ctrl-C has nothing to stop
    finished.set()
    sys.stdout.flush()
    sys.stderr.flush()
    protocol.send(conn, {"exit": code})
    return code


def _stop_when_caller_leaves(conn: socket.socket, finished: threading.Event) -> None:
    """Stop this child as Ctrl-C would when its caller hangs up before the end."""
    watch = select.poll()
    watch.register(conn.fileno(), select.POLLRDHUP)
    while not finished.is_set():
        if watch.poll(500) and not finished.is_set():
            os.kill(os.getpid(), signal.SIGINT)
            return


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
