"""The throttle against a real Redis: counts stay exact across two Django cache clients."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache.backends.redis import RedisCache

from motcua.supervisor import redis_argv, wait_for_redis
from publishing.services.throttle import LookupThrottle, ThrottlePolicy
from publishing.services.tokens import issue_download, redeem_download

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


@pytest.fixture()
def redis_socket(tmp_path: Path) -> Iterator[Path]:
    """A throwaway redis-server on a unix socket under ``tmp_path``, stopped afterwards."""
    socket = tmp_path / "redis.sock"
    # The private Redis of ``motcua run``, as the supervisor starts and awaits it.
    server = subprocess.Popen(
        redis_argv(tmp_path, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_redis(socket, timeout_s=10)
        yield socket
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def django_client(socket: Path) -> RedisCache:
    """A Django cache client of its own (its own connection pool), as another process has."""
    return RedisCache(f"unix://{socket}?db=1", {"KEY_PREFIX": "motcua"})


def run_together(count: int, work: list[object]) -> None:
    """Start ``count`` threads per callable in ``work`` at one barrier and wait for all."""
    threads: list[threading.Thread] = []
    barrier = threading.Barrier(count * len(work))
    for job in work:
        for _ in range(count):

            def go(job: object = job) -> None:
                barrier.wait(timeout=10)
                job()  # type: ignore[operator]

            threads.append(threading.Thread(target=go))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()


def test_a_burst_from_one_client_gets_only_its_free_attempts(redis_socket: Path) -> None:
    """40 simultaneous attempts of one client through two clients of the cache: exactly the
    five free ones and one turn are checked; a read-then-write counter would let more through."""
    throttles = [
        LookupThrottle(django_client(redis_socket), ThrottlePolicy(), key=b"k" * 32)
        for _ in range(2)
    ]
    admitted: list[bool] = []
    lock = threading.Lock()

    def attempt(throttle: LookupThrottle) -> None:
        allowed = throttle.admit("203.0.113.7", "HS-1").allowed
        with lock:
            admitted.append(allowed)

    run_together(20, [lambda: attempt(throttles[0]), lambda: attempt(throttles[1])])
    assert len(admitted) == 40
    assert admitted.count(True) == ThrottlePolicy().client_free + 1


def test_failures_against_a_dossier_are_counted_exactly(redis_socket: Path) -> None:
    """200 failures from 200 clients, half through each cache client: the count is 200 and
    exactly one of them raises the guessing alert."""
    policy = ThrottlePolicy(alert_after=150)
    throttles = [
        LookupThrottle(
            django_client(redis_socket), policy, clock=lambda: 3600.0 * 500_000, key=b"k" * 32
        )
        for _ in range(2)
    ]
    counts: list[int] = []
    alerts: list[bool] = []
    lock = threading.Lock()
    numbers = iter(range(1000))

    def guess(throttle: LookupThrottle) -> None:
        with lock:
            n = next(numbers)
        admission = throttle.admit(f"198.51.100.{n}", "HS-1")
        assert admission.allowed
        failure = throttle.failed(admission)
        with lock:
            counts.append(failure.dossier_failures)
            alerts.append(failure.alert)

    run_together(100, [lambda: guess(throttles[0]), lambda: guess(throttles[1])])
    assert sorted(counts) == list(range(1, 201))
    assert alerts.count(True) == 1


def test_a_download_token_is_redeemed_once_across_clients(redis_socket: Path) -> None:
    """Two cache clients race to redeem one token: one gets the document, the rest nothing."""
    stores = [django_client(redis_socket) for _ in range(2)]
    token = issue_download(7, "h" * 64, store=stores[0])
    results: list[tuple[int, str] | None] = []
    lock = threading.Lock()

    def redeem(store: RedisCache) -> None:
        value = redeem_download(token, store=store)
        with lock:
            results.append(value)

    run_together(10, [lambda: redeem(stores[0]), lambda: redeem(stores[1])])
    assert results.count((7, "h" * 64)) == 1 and results.count(None) == 19
