"""A warm process forking the verification children: pyHanko imported once, a child in milliseconds.

The web process starts ``python -m signing.verify.forkserver`` (:class:`ForkServer`) with
an empty environment, in its own session, its standard input one end of a Unix socket
pair (the control socket). The server lowers its priority, imports pypdf, pyHanko and
the checks once (about a second of CPU, several on a busy machine), freezes what it
allocated out of the garbage collector's reach, and waits. Each request on the control
socket carries one end of a new socket pair: the server forks a child for it, writes the
child's pid on that socket and closes its own copy. The child closes the control socket
and from then on talks with the web process on its own socket alone
(:func:`signing.verify.child.serve`); it starts with everything imported, its memory
shared with the server's until written. Children are not waited for (SIGCHLD ignored:
the kernel reaps them). The server ends when the web process closes the control socket.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["NICE", "ForkServer", "main"]

NICE = 5
"""How much lower the server's (and so every child's) priority is than the web server's."""

_REQUEST = b"fork"


class ForkServer:
    """The web process's handle on its fork server, started at construction."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-E", "-s", "-B", "-m", "signing.verify.forkserver"],
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=str(Path(__file__).resolve().parents[2]),  # where the signing package is
                env={"LANG": "C.UTF-8"},
                start_new_session=True,  # a terminal's Ctrl-C is the web process's to handle
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._control = ours
        self._lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self) -> socket.socket:
        """Ask for a child; the web process's end of its socket, on which the server writes
        the child's pid (once its imports are done, for a server just started).

        Raises OSError when the server is gone.
        """
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self._lock:
                socket.send_fds(self._control, [_REQUEST], [theirs.fileno()])
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return ours

    def close(self) -> None:
        """End the server (its children finish their own work) and reap it."""
        self._control.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main() -> int:
    """The server: import once, then fork a child for each socket the web process sends."""
    os.nice(NICE)
    gc.disable()  # the imports make objects to keep, not garbage: nothing to walk them for
    from signing.verify import child  # pyHanko, pypdf, cryptography: once, for every child

    control = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # no child inherits the control socket as its standard input
    os.close(devnull)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    gc.freeze()  # the imports' objects stay shared with every child, never walked again
    gc.enable()
    while True:
        message, fds, _, _ = socket.recv_fds(control, len(_REQUEST), 4)
        if not message:  # the web process closed its end: stop
            for fd in fds:
                os.close(fd)
            return 0
        for fd in fds:
            _fork(control, fd, child.serve)


def _fork(control: socket.socket, fd: int, serve: Callable[[socket.socket], int]) -> None:
    """Fork a child serving the socket ``fd``; tell the web process its pid on that socket."""
    conn = socket.socket(fileno=fd)
    try:
        pid = os.fork()
    except OSError:
        conn.close()  # the web process sees the socket end without a pid
        return
    if pid == 0:
        code = 1
        try:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            code = serve(conn)
        finally:
            os._exit(code)
    with contextlib.suppress(OSError), conn:  # a web process that gave up: the child sees no header
        conn.sendall(b"%d\n" % pid)


if __name__ == "__main__":
    sys.exit(main())
