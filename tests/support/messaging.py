"""Real servers on loopback for the delivery tests: SMTP (aiosmtpd) and an HTTP SMS gateway."""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["FakeGateway", "FakeSmtp", "GatewayRequest", "SmtpMessage", "free_port"]

Mode = Literal["ok", "slow", "flaky", "slow_accept"]
"""``slow``: the first ``slow_times`` tries stall before anything is accepted, longer than
the client's timeout; ``flaky``: every other try is refused (SMTP 451, HTTP 503);
``slow_accept`` (the gateway): the first ``slow_times`` are accepted, then the answer
stalls past the client's timeout."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (connecting to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class SmtpMessage:
    """One message the SMTP server saw at DATA, accepted or refused."""

    message_id: str
    to: tuple[str, ...]
    accepted: bool
    message: email.message.EmailMessage


@dataclass
class FakeSmtp:
    """An SMTP server on 127.0.0.1 that records every message offered to it."""

    mode: Mode = "ok"
    slow_times: int = 1
    slow_s: float = 1.0
    port: int = field(default_factory=free_port)
    seen: list[SmtpMessage] = field(default_factory=list)
    _tries: int = 0
    _controller: Controller | None = None

    @property
    def accepted(self) -> list[SmtpMessage]:
        """The messages the server accepted (250 after DATA)."""
        return [m for m in self.seen if m.accepted]

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        session.host_name = hostname
        if self.mode == "slow" and self.slow_times > 0:
            self.slow_times -= 1
            await asyncio.sleep(self.slow_s)
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self._tries += 1
        accepted = not (self.mode == "flaky" and self._tries % 2 == 1)
        to = tuple(str(r) for r in envelope.rcpt_tos)
        self.seen.append(SmtpMessage(str(parsed["Message-ID"]), to, accepted, parsed))
        return "250 OK" if accepted else "451 4.3.0 Bận, xin gửi lại sau"

    def start(self) -> FakeSmtp:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass(frozen=True)
class GatewayRequest:
    """One request the SMS gateway received."""

    key: str
    phone: str
    text: str
    authorization: str
    accepted: bool


class _GatewayHandler(BaseHTTPRequestHandler):
    server: _GatewayServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _message(self) -> tuple[str, str]:
        if self.command == "POST":
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            return str(body["to"]), str(body["text"])
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        return query["to"][0], query["text"][0]

    def _handle(self) -> None:
        gateway = self.server.gateway
        phone, text = self._message()
        key = self.headers.get("Idempotency-Key", "")
        status, stall = gateway.decide()
        gateway.record(
            GatewayRequest(
                key, phone, text, self.headers.get("Authorization", ""), 200 <= status < 300
            )
        )
        if stall:  # the client gives up before the answer
            time.sleep(gateway.slow_s)
        if gateway.hold is not None:
            gateway.holding.set()
            gateway.hold.wait(10)
        try:
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:
            pass  # the client went away (timed out)

    do_GET = _handle
    do_POST = _handle


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    gateway: FakeGateway

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients that time out close their end."""


@dataclass
class FakeGateway:
    """An HTTP SMS gateway on 127.0.0.1 honouring ``Idempotency-Key``: a key it accepted
    once is delivered once, however often it is sent."""

    mode: Mode = "ok"
    slow_times: int = 1
    slow_s: float = 1.0
    port: int = field(default_factory=free_port)
    requests: list[GatewayRequest] = field(default_factory=list)
    hold: threading.Event | None = None
    """When set by a test: accepted requests wait for this event before answering."""
    holding: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tries: int = 0
    _server: _GatewayServer | None = None

    def decide(self) -> tuple[int, bool]:
        """The status for the next request, and whether to stall past the client's timeout
        before answering (a 503 stalled is never accepted; a 200 stalled is)."""
        with self._lock:
            self._tries += 1
            if self.mode in ("slow", "slow_accept") and self.slow_times > 0:
                self.slow_times -= 1
                return (503 if self.mode == "slow" else 200), True
            if self.mode == "flaky" and self._tries % 2 == 1:
                return 503, False
            return 200, False

    def record(self, request: GatewayRequest) -> None:
        with self._lock:
            self.requests.append(request)

    @property
    def delivered(self) -> dict[str, GatewayRequest]:
        """What reached phones: each accepted key once."""
        return {r.key: r for r in self.requests if r.accepted}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send?to={{phone}}&text={{text}}"

    def start(self) -> FakeGateway:
        self._server = _GatewayServer(("127.0.0.1", self.port), _GatewayHandler)
        self._server.gateway = self
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
