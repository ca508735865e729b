"""Body limits in the real server: `motcua web` refuses an oversized body before reading it."""

from __future__ import annotations

import gc
import http.client
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.processes import child_pids
from motcua import webserver
from tests.support.service import MOTCUA, free_port, poll, service_env

CHUNK = 256 * 1024


@dataclass(frozen=True)
class Web:
    port: int
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """``motcua web`` with two serving processes on a free loopback port."""
    data_dir = tmp_path_factory.mktemp("web") / "data"
    data_dir.mkdir()
    port = free_port()
    log = (data_dir.parent / "web.log").open("wb")
    process = subprocess.Popen(
        [*MOTCUA, "web", "--port", str(port), "--processes", "2", "--threads", "2"],
        env=service_env(data_dir, MOTCUA_VERIFY_SPARES="0"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError((data_dir.parent / "web.log").read_text())
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    try:
        poll(up, timeout=60, every=0.2, what="motcua web")
        yield Web(port, process)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _post_while_sending(port: int, path: str, length: int) -> tuple[bytes, int, float]:
    """POST a body of ``length`` bytes from one thread while reading the answer in this one.

    Returns the answer, the bytes the sender had handed to the kernel when the answer
    came, and the seconds it took.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = [0]
    answered = threading.Event()

    def send() -> None:
        try:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/pdf\r\n"
                f"Content-Length: {length}\r\n\r\n".encode()
            )
            chunk = b"%PDF" * (CHUNK // 4)
            while sent[0] < length and not answered.is_set():
                sock.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the server closed the connection: the rest is never read

    sender = threading.Thread(target=send, daemon=True)
    started = time.perf_counter()
    sender.start()
    answer = b""
    try:
        while b"</html>" not in answer:
            part = sock.recv(65536)
            if not part:
                break
            answer += part
    except ConnectionResetError:
        pass  # after the answer: the server closed with the body unread
    seconds = time.perf_counter() - started
    at_answer = sent[0]
    answered.set()
    sock.close()
    sender.join(10)
    return answer, at_answer, seconds


def test_a_120_mb_upload_is_refused_while_only_a_small_part_is_sent(web: Web) -> None:
    length = 120 * 1024 * 1024
    answer, sent, seconds = _post_while_sending(web.port, "/kiem-tra/", length)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"Connection: close" in answer.split(b"\r\n\r\n")[0]
    assert "quá lớn" in answer.decode("utf-8", "replace")  # Django's page, in Vietnamese
    assert seconds < 2, f"{seconds:.2f} s"
    assert sent < length // 10, f"{sent} bytes sent before the answer"


def test_each_path_has_its_own_limit_before_reading(web: Web) -> None:
    """3 MB is under the largest limit (the verification's) but over the lookup's 2 MB."""
    answer, _, seconds = _post_while_sending(web.port, "/tra-cuu/", 3 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert seconds < 2


def test_a_body_without_length_is_refused_unread(web: Web) -> None:
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        sock.sendall(
            b"POST /kiem-tra/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"100000\r\n" + b"x" * 4096
        )
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 411 "), answer[:200]


def test_a_body_within_its_limit_is_read_and_the_server_goes_on(web: Web) -> None:
    """A 1 MB upload reaches the page (refused there by its CSRF check, not by its size),
    and the server answers the next request on the same connection and on new ones."""
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    connection.request(
        "POST", "/kiem-tra/", body=b"x" * (1024 * 1024), headers={"Content-Type": "text/plain"}
    )
    response = connection.getresponse()
    response.read()
    assert response.status not in (411, 413)
    connection.request("GET", "/healthz")
    assert connection.getresponse().read() == b"ok"
    connection.close()
    with urllib.request.urlopen(f"http://127.0.0.1:{web.port}/healthz", timeout=5) as r:
        assert r.read() == b"ok"


def test_the_server_stops_every_process_on_sigterm(tmp_path: Path) -> None:
    """SIGTERM ends the parent and its serving processes; none is left behind."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    port = free_port()
    process = subprocess.Popen(
        [*MOTCUA, "web", "--port", str(port), "--processes", "3"],
        env=service_env(data_dir, MOTCUA_VERIFY_SPARES="0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    try:
        serving = poll(lambda: _exactly(3, child_pids(process.pid)), timeout=60)
        poll(lambda: _answers(port), timeout=60, every=0.2, what="motcua web")
    finally:
        process.terminate()
        assert process.wait(30) == 0
    for pid in serving:
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_serving_processes_leave_start_up_objects_to_the_collector_no_more() -> None:
    """Before serving, what is imported is frozen and the young generation made larger."""
    thresholds = gc.get_threshold()
    try:
        webserver._settle()
        assert gc.get_threshold() == webserver.GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
        assert "motcua.urls" in sys.modules  # every view imported before the fork
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def _exactly(count: int, pids: list[int]) -> list[int] | None:
    """``pids`` when there are ``count`` of them."""
    return pids if len(pids) == count else None
