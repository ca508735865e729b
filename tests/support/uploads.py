"""Uploading a file to the verification page as a browser's form would, live or in the client.

Over HTTP to a running server, or through Django's test client.
"""

from __future__ import annotations

import http.client
import re
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.live_server_helper import LiveServer

__all__ = ["live_address", "post_for_verdict", "upload"]


def post_for_verdict(
    host: str, port: int, data: bytes, *, timeout_s: float, forwarded_for: str = ""
) -> tuple[int, str]:
    """POST ``data`` to ``/kiem-tra/`` as the form's file, with a CSRF secret of our own in
    the cookie and the header (and ``X-Forwarded-For`` when given, as a proxy would send
    it): the status and the page's verdict (empty when it shows none)."""
    token = uuid.uuid4().hex
    boundary = "ranh-gioi-" + token
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="pdf"; filename="a.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Cookie": f"csrftoken={token}",
        "X-CSRFToken": token,
    }
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        connection.request("POST", "/kiem-tra/", body=body, headers=headers)
        response = connection.getresponse()
        html = response.read().decode()
    finally:
        connection.close()
    found = re.search(r'data-verdict="([a-z_]+)"', html)
    return response.status, found.group(1) if found else ""


def upload(client: Client, data: bytes, **extra: Any) -> tuple[Any, float]:
    """POST ``data`` to ``/kiem-tra/`` as the form's file through the test ``client`` (with
    ``extra`` request headers): the response and the seconds it took."""
    started = time.perf_counter()
    response = client.post("/kiem-tra/", {"pdf": SimpleUploadedFile("tai-lieu.pdf", data)}, **extra)
    return response, time.perf_counter() - started


def live_address(server: LiveServer) -> tuple[str, int]:
    """The host and port a live test server listens on."""
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port
