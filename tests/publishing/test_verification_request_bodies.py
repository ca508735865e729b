"""Request bodies refused before they are read: too large for the page, chunked or malformed."""

from __future__ import annotations

import io
import socket
from typing import Any, BinaryIO, cast

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from motcua.middleware import BodyLimitMiddleware
from publishing.services import verification as service
from tests.support.uploads import live_address as _address


class _Unreadable(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


def _refused(path: str, **meta: str) -> HttpResponse:
    """What the body limit answers to a POST to ``path`` whose body raises when read."""
    request = RequestFactory().post(path, data=b"", content_type="multipart/form-data; boundary=x")
    request.META.update(meta)
    request._stream = cast(BinaryIO, _Unreadable())

    def view(_request: HttpRequest) -> HttpResponse:
        return HttpResponse("qua")

    return BodyLimitMiddleware(view)(request)


@pytest.mark.usefixtures("data_dirs")
def test_body_limits_by_path() -> None:
    big = str(3 * 1024 * 1024)
    assert _refused("/tra-cuu/", CONTENT_LENGTH=big).status_code == 413
    assert _refused("/kiem-tra/", CONTENT_LENGTH=big).content == b"qua"
    too_big = str(21 * 1024 * 1024)
    response = _refused("/kiem-tra/", CONTENT_LENGTH=too_big)
    assert response.status_code == 413 and "quá lớn" in response.content.decode()
    chunked = _refused("/kiem-tra/", CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked")
    assert chunked.status_code == 411
    assert _refused("/kiem-tra/", CONTENT_LENGTH="-5").status_code == 400


def test_waitress_refuses_beyond_the_largest_limit(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """The web server gets the largest body limit instead of waitress's 1 GiB, its process
    count from WEB_PROCESSES, and starts the spare verifiers in each serving process."""
    from motcua import roles, webserver

    seen: dict[str, Any] = {}
    monkeypatch.setattr(webserver, "serve", lambda app, **kwargs: seen.update(kwargs))
    settings.WEB_PROCESSES = 3
    roles.serve_web("127.0.0.1", 0)
    assert seen["max_request_body_size"] == 20 * 1024 * 1024 + 64 * 1024
    assert seen["processes"] == 3
    assert seen["before_serving"] is service.start_verifiers


@pytest.mark.usefixtures("data_dirs", "transactional_db")
def test_an_oversized_upload_is_refused_before_its_body_is_sent(server: LiveServer) -> None:
    """The 413 comes back while the client has sent the headers and a few bytes of 100 MB."""
    host, port = _address(server)
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(
            b"POST /kiem-tra/ HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: multipart/form-data; boundary=ranh-gioi\r\n"
            b"Content-Length: 104857600\r\n\r\n--ranh-gioi\r\n"
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.split(b"\r\n", 1)[0].split()[1] == b"413"
