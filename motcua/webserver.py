"""The production web server: waitress in several processes on one socket, bodies refused unread.

``serve`` binds the listening socket once, then runs waitress in ``processes`` forked
children that share it (the kernel gives each new connection to whichever child
accepts first, so a busy child takes fewer), each with ``threads`` threads: Python runs
one thread at a time per process, so the cores are used by processes, not threads. The
parent only supervises: it restarts a child that dies, and on SIGTERM or SIGINT stops
them all. With ``processes=1`` waitress runs in this process, as before.

Memory: before the children are forked, the URLconf (and with it every view) is imported,
then everything allocated so far is frozen out of the garbage collector's reach and its
first generation is made larger (:data:`GC_THRESHOLDS`). A request allocates thousands
of short-lived objects (template nodes' output, querysets, the form); with Python's
default of a collection every 700 allocations, the collector spent about a fifth of a
public lookup's CPU walking objects that live as long as the process.

Request bodies: waitress reads a whole body into its buffers before the application
sees the request, so Django's ``BodyLimitMiddleware`` would only refuse what had already
arrived. Here each request's headers are checked against the limit of its path
(:func:`motcua.middleware.body_limit`) as soon as they are parsed: an oversized body,
or one with no length (chunked), is never read. The request goes on to Django with an
empty body and its headers intact, so ``BodyLimitMiddleware`` answers it (413 or 411,
in Vietnamese), and the connection is closed after that answer without reading on.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server

from motcua.middleware import body_limit

__all__ = ["BodyLimitedChannel", "BodyLimitedParser", "serve"]

log = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]

MAX_RESTARTS = 5
"""Children that may die within ``RESTART_WINDOW_S`` before the server gives up."""

GC_THRESHOLDS = (10_000, 20, 20)
"""The collector's thresholds in a serving process: a young collection every 10 000
allocations (Python's default: 700), an older one every 20 of those."""

RESTART_WINDOW_S = 60.0
STOP_GRACE_S = 20.0
"""Seconds the children get to finish their requests when the server stops."""


class BodyLimitedParser(HTTPRequestParser):  # type: ignore[misc]
    """waitress's request parser, refusing a body beyond its path's limit before reading it."""

    chunked: bool
    content_length: int

    def __init__(self, adj: Any, channel: BodyLimitedChannel | None = None) -> None:
        super().__init__(adj)
        self.channel = channel
        self.refused = False

    def parse_header(self, header_plus: bytes) -> None:
        """Parse the headers; an oversized or unsized body is refused here, unread."""
        super().parse_header(header_plus)
        if self.chunked:
            # No length to check: BodyLimitMiddleware answers 411 when it sees this header
            # (waitress removes it from the request once it has read the whole body).
            self.headers["TRANSFER_ENCODING"] = "chunked"
        elif self.content_length <= body_limit(self.path):
            return
        self.refused = True
        self.body_rcv = None  # the application gets an empty body, the headers as sent
        self.chunked = False
        self.content_length = 0  # not waitress's own 413: Django's page says why
        self.expect_continue = False  # never invite the client to send the body
        self.connection_close = True  # the rest of the body is never read
        if self.channel is not None:
            self.channel.refusing = True

    def received(self, data: bytes) -> int:
        """Take ``data``; after a refusal, all of it (the start of a body nobody reads)."""
        consumed = int(super().received(data))
        return len(data) if self.refused else consumed


class BodyLimitedChannel(HTTPChannel):  # type: ignore[misc]
    """A connection that stops reading once a request's body is refused."""

    refusing = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parser_class = lambda adj: BodyLimitedParser(adj, self)

    def readable(self) -> bool:
        """Not once a body is refused: the answer goes out and the connection closes."""
        return not self.refusing and bool(super().readable())

    def received(self, data: bytes) -> bool:
        """Parse ``data`` into requests, unless it belongs to a refused body."""
        if self.refusing:
            return False
        return bool(super().received(data))


def listen(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """The listening TCP socket every process of the server accepts on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=backlog)


def serve(
    application: WSGIApp,
    *,
    host: str,
    port: int,
    processes: int,
    threads: int,
    before_serving: Callable[[], None] = lambda: None,
    **adjustments: Any,
) -> None:
    """Serve ``application`` until SIGTERM or SIGINT; ``before_serving`` runs in each serving
    process before its first request (after the fork). ``adjustments`` go to waitress."""
    sock = listen(host, port)
    _settle()
    if processes <= 1:
        _serve_here(application, sock, threads, before_serving, adjustments)
        return
    from django.db import connections

    connections.close_all()  # no connection is shared with the children
    _Master(application, sock, processes, threads, before_serving, adjustments).run()


def _settle() -> None:
    """Import what every request needs, freeze it out of the collector's walks and widen
    the collector's first generation (inherited by the forked children).

    Also quiets waitress's queue warning: it logs a line for every request that waits
    for a thread, which under load is nearly every request (2 373 lines for 2 400 lookups
    in the benchmark), a cost per request and a flood in the log that says no more than
    a busy server's latency does.
    """
    from django.urls import get_resolver

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf and every view)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _serve_here(
    application: WSGIApp,
    sock: socket.socket,
    threads: int,
    before_serving: Callable[[], None],
    adjustments: dict[str, Any],
) -> None:
    """Run waitress on ``sock`` in this process until SIGTERM or SIGINT."""
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    server = create_server(application, sockets=[sock], threads=threads, **adjustments)
    server.channel_class = BodyLimitedChannel
    before_serving()
    server.run()


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


class _Master:
    """Forks the serving processes, restarts one that dies, stops them all on a signal."""

    def __init__(
        self,
        application: WSGIApp,
        sock: socket.socket,
        processes: int,
        threads: int,
        before_serving: Callable[[], None],
        adjustments: dict[str, Any],
    ) -> None:
        self.application = application
        self.sock = sock
        self.processes = processes
        self.threads = threads
        self.before_serving = before_serving
        self.adjustments = adjustments
        self.children: set[int] = set()
        self.deaths: list[float] = []
        self.stopping = False

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> None:
        """Start the children and watch them until told to stop."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        log.info("web: %d processes of %d threads", self.processes, self.threads)
        code = 0
        try:
            while not self.stopping:
                while len(self.children) < self.processes and not self.stopping:
                    self._spawn()
                if self._reap() and not self._may_restart():
                    log.error("web: serving processes keep dying; stopping")
                    code = 1
                    break
                time.sleep(0.2)
        finally:
            self._stop_children()
        if code:
            sys.exit(code)

    def _spawn(self) -> None:
        pid = os.fork()
        if pid == 0:  # the child: serve, and never return into the master's loop
            code = 0
            try:
                _serve_here(
                    self.application, self.sock, self.threads, self.before_serving, self.adjustments
                )
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 0
            except BaseException:
                log.exception("web: a serving process failed")
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        self.children.add(pid)

    def _reap(self) -> int:
        """Collect the children that ended; how many ended unasked."""
        ended = 0
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in self.children:
                self.children.discard(pid)
                ended += 1
                log.warning("web: serving process %d ended (status %d); restarting", pid, status)
                self.deaths.append(time.monotonic())
        return ended

    def _may_restart(self) -> bool:
        now = time.monotonic()
        self.deaths = [t for t in self.deaths if now - t < RESTART_WINDOW_S]
        return len(self.deaths) <= MAX_RESTARTS

    def _stop_children(self) -> None:
        for pid in self.children:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while self.children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
            self.children.discard(pid)
        for pid in self.children:
            log.warning("web: serving process %d did not stop in time; killing it", pid)
            _signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self.children.clear()


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
