"""The signing agent's messages: length-prefixed JSON on a Unix socket, and the caller's terminal.

A request is one byte carrying the caller's standard input, output and error (passed
as file descriptors, ``SCM_RIGHTS``), then ``{"argv": [...], "cwd": ..., "env": {...},
"log_level": ...}``. The agent's child answers ``{"pid": n}`` once it has taken the
request (the process the caller stops with Ctrl-C) and waits for ``{"go": true}``
before it does anything; it may send ``{"ask": prompt}``, answered ``{"answer": text}``
or ``{"answer": null}`` (the caller prompts without echo: the passphrase); and it ends
with ``{"exit": n}``.
Standard library only: the command imports this before anything heavy.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any, NamedTuple

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Message",
    "Peer",
    "ProtocolError",
    "peer",
    "receive",
    "receive_terminal",
    "send",
    "send_terminal",
]

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""The largest message either side reads (a batch of tens of thousands of paths)."""

Message = dict[str, Any]
"""One message: a JSON object."""

_LENGTH = struct.Struct("!I")
_UCRED = struct.Struct("3i")  # struct ucred
_TERMINAL = b"T"


class ProtocolError(Exception):
    """A message that is not what the other side should have sent."""


class Peer(NamedTuple):
    """The process at the other end of a Unix socket, as the kernel vouches for it."""

    pid: int
    uid: int
    gid: int


def peer(conn: socket.socket) -> Peer:
    """Who is at the other end of ``conn`` (``SO_PEERCRED``)."""
    return Peer(*_UCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)))


def send(conn: socket.socket, message: Message) -> None:
    """Send one message."""
    body = json.dumps(message).encode("ascii")  # ASCII escapes keep undecodable file names
    if len(body) > MAX_MESSAGE_BYTES:
        raise ProtocolError("message too large")
    conn.sendall(_LENGTH.pack(len(body)) + body)


def receive(conn: socket.socket) -> Message | None:
    """Read one message; None when the other side closed the connection before sending it."""
    head = _read(conn, _LENGTH.size)
    if head is None:
        return None
    (length,) = _LENGTH.unpack(head)
    if length > MAX_MESSAGE_BYTES:
        raise ProtocolError("message too large")
    body = _read(conn, length)
    if body is None:
        return None
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise ProtocolError("not JSON") from exc
    if not isinstance(message, dict):
        raise ProtocolError("not an object")
    return message


def send_terminal(conn: socket.socket, fds: tuple[int, int, int]) -> None:
    """Pass the caller's standard input, output and error to the agent."""
    socket.send_fds(conn, [_TERMINAL], list(fds))


def receive_terminal(conn: socket.socket) -> tuple[int, int, int] | None:
    """The caller's standard input, output and error, as descriptors of this process;
    None when the caller hung up first (as one checking that an agent answers does)."""
    data, fds, _flags, _address = socket.recv_fds(conn, 1, 3)
    if not data and not fds:
        return None
    if data != _TERMINAL or len(fds) != 3:
        for fd in fds:
            socket.close(fd)
        raise ProtocolError("no terminal")
    return fds[0], fds[1], fds[2]


def _read(conn: socket.socket, count: int) -> bytes | None:
    chunks: list[bytes] = []
    left = count
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
