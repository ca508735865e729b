"""Tests of the lookup throttle: growing waits per client and per code, never a lockout."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client, RequestFactory
from pytest_django import Settings

from dossiers.models import Dossier, Event
from publishing.services.clients import client_address, pick_client
from publishing.services.throttle import (
    GUESSING_EVENT,
    LookupThrottle,
    ThrottlePolicy,
    wait_text,
)
from tests.conftest import DataDirs, MakeDossier


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def store() -> Iterator[LocMemCache]:
    memory = LocMemCache("throttle-test", {})
    yield memory
    memory.clear()


@pytest.fixture()
def clock() -> Clock:
    return Clock()


def make(store: LocMemCache, clock: Clock, **policy: int) -> LookupThrottle:
    return LookupThrottle(store, ThrottlePolicy(**policy), clock=clock, key=b"k" * 32)


def fail(throttle: LookupThrottle, client: str, code: str = "HS-1") -> int:
    """One admitted, failed attempt; its wait."""
    admission = throttle.admit(client, code)
    assert admission.allowed, admission
    return throttle.failed(admission).wait_s


# --- the policy -----------------------------------------------------------------------------


def test_waits_double_after_the_free_failures_up_to_the_cap() -> None:
    """Five free failures, then 2, 4, 8 … seconds, never more than 15 minutes."""
    policy = ThrottlePolicy()
    waits = [policy.wait_s(n, 0) for n in range(1, 20)]
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:10] == [2, 4, 8, 16, 32, 64]
    assert max(waits) == policy.cap_s == 900
    assert waits[-1] == 900
    assert policy.wait_s(10_000, 10_000) == 900


def test_a_dossier_under_guessing_slows_failing_clients_but_a_typo_costs_little() -> None:
    """Past its free failures a code makes every failing client wait, by at most 2^(own+1) s."""
    policy = ThrottlePolicy()
    assert policy.wait_s(1, policy.dossier_free - 1) == 0
    assert policy.wait_s(1, policy.dossier_free) == 2
    assert policy.wait_s(1, 50) == 4  # one typo while an attack goes on: 4 s, not the cap
    assert policy.wait_s(3, 50) == 16
    assert policy.wait_s(9, 50) == 900


# --- the throttle over a cache --------------------------------------------------------------


def test_waits_grow_and_are_per_client(store: LocMemCache, clock: Clock) -> None:
    """A client past its free failures waits 2, 4, 8 s between tries; another is unaffected."""
    throttle = make(store, clock)
    for _ in range(4):
        assert fail(throttle, "203.0.113.7") == 0
    waits = []
    for _ in range(4):
        waits.append(fail(throttle, "203.0.113.7"))
        refused = throttle.admit("203.0.113.7", "HS-1")
        assert not refused.allowed
        assert refused.retry_after_s == waits[-1]
        clock.now += waits[-1] - 0.5
        assert throttle.admit("203.0.113.7", "HS-1").retry_after_s == 1
        clock.now += 0.5
    assert waits == [2, 4, 8, 16]
    other = throttle.admit("198.51.100.9", "HS-1")
    assert other.allowed and other.attempt == 1


def test_refused_attempts_do_not_count_and_a_success_clears_the_client(
    store: LocMemCache, clock: Clock
) -> None:
    """Knocking while waiting does not lengthen the wait; the right secret resets the count."""
    throttle = make(store, clock)
    for _ in range(5):
        fail(throttle, "c")
    for _ in range(20):
        assert not throttle.admit("c", "HS-1").allowed
    clock.now += 2
    admission = throttle.admit("c", "HS-1")
    assert admission.allowed and admission.attempt == 6
    throttle.succeeded(admission)
    fresh = throttle.admit("c", "HS-1")
    assert fresh.allowed and fresh.attempt == 1


def test_a_waiting_client_has_one_attempt_checked_at_a_time(
    store: LocMemCache, clock: Clock
) -> None:
    """Past the free attempts, a second attempt while one is being checked is refused."""
    throttle = make(store, clock)
    admissions = [throttle.admit("c", "HS-1") for _ in range(5)]
    assert all(a.allowed and not a.turn for a in admissions)
    sixth = throttle.admit("c", "HS-1")
    assert sixth.allowed and sixth.turn
    seventh = throttle.admit("c", "HS-1")
    assert not seventh.allowed and seventh.retry_after_s == 1
    throttle.succeeded(sixth)
    assert throttle.admit("c", "HS-1").allowed


def test_keys_hold_no_address_code_or_secret(store: LocMemCache, clock: Clock) -> None:
    """The cache keys are keyed hashes: neither the address nor the code is readable."""
    throttle = make(store, clock)
    fail(throttle, "203.0.113.7", "000.00.21.H26-261122-0042")
    keys = " ".join(store._cache)  # type: ignore[attr-defined]  # the test cache's own keys
    assert "203.0.113.7" not in keys
    assert "H26" not in keys


def test_the_alert_fires_once_per_window(store: LocMemCache, clock: Clock) -> None:
    """Exactly the failure past the limit in each window raises the alert, from any client."""
    throttle = make(store, clock, alert_after=20, dossier_window_s=3600)
    clock.now = 3600 * 500_000  # the start of a window

    def alerts(count: int) -> list[bool]:
        flags = []
        for n in range(count):
            admission = throttle.admit(f"10.0.{n // 250}.{n % 250}", "HS-1")
            flags.append(throttle.failed(admission).alert)
            clock.now += 1
        return flags

    first = alerts(60)
    assert first.index(True) == 20 and first.count(True) == 1
    clock.now = 3600 * 500_001
    second = alerts(25)
    assert second.index(True) == 20 and second.count(True) == 1


def test_wait_text_is_vietnamese() -> None:
    """The wait is said in seconds, or minutes and seconds."""
    assert "chờ 8 giây" in wait_text(8)
    assert "chờ 2 phút 8 giây" in wait_text(128)
    assert "chờ 15 phút" in wait_text(900)


# --- the page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    dossier: Dossier
    secret: str


@pytest.fixture()
def case(make_dossier: MakeDossier, data_dirs: DataDirs, clear_cache: None) -> Case:
    registered = make_dossier()
    return Case(registered.dossier, registered.secret)


def post(client: Client, case: Case, secret: str, address: str) -> int:
    response = client.post(
        "/tra-cuu/", {"code": case.dossier.code, "secret": secret}, REMOTE_ADDR=address
    )
    return response.status_code


def test_the_right_secret_is_not_refused_because_of_an_attack(client: Client, case: Case) -> None:
    """50 wrong guesses from other addresses, then the citizen from a fresh address: at once."""
    statuses = [post(client, case, "SAI" * 11, f"198.51.100.{n}") for n in range(50)]
    assert set(statuses) == {403}  # each attacker tried once and was told no
    assert post(client, case, case.secret, "203.0.113.50") == 200
    # The attackers themselves now wait before their next guess.
    assert post(client, case, "SAI" * 11, "198.51.100.49") == 429


def test_the_attackers_wait_grows_with_the_dossier_but_the_citizen_passes(
    client: Client, case: Case
) -> None:
    """One address guessing against a dossier is slowed; the citizen elsewhere is not."""
    statuses = [post(client, case, f"SAI{n:030d}", "198.51.100.1") for n in range(30)]
    assert statuses[:5] == [403] * 5
    assert set(statuses[5:]) == {429}
    assert post(client, case, case.secret, "203.0.113.50") == 200


def test_a_guessing_alert_is_recorded_once_per_window(client: Client, case: Case) -> None:
    """More than 20 failures against one dossier in an hour: one event, without secret or IP."""
    limit = ThrottlePolicy().alert_after
    for n in range(limit):
        post(client, case, "SAI" * 11, f"198.51.100.{n}")
    assert not Event.objects.filter(kind=GUESSING_EVENT).exists()
    for n in range(limit, limit + 15):
        post(client, case, "SAI" * 11, f"198.51.100.{n}")
    events = list(Event.objects.filter(kind=GUESSING_EVENT))
    assert len(events) == 1
    event = events[0]
    assert event.dossier == case.dossier
    assert event.detail["failures_in_window"] == limit + 1
    text = str(event.detail) + event.actor
    assert "198.51.100" not in text
    assert "SAI" not in text
    assert len(event.detail["client"]) == 10


def test_guessing_an_unknown_code_raises_no_event(client: Client, case: Case) -> None:
    """Guesses against a code that does not exist are throttled the same, but log nothing."""
    for n in range(30):
        client.post("/tra-cuu/", {"code": "HS-KHONG-CO", "secret": "X"}, REMOTE_ADDR=f"10.0.0.{n}")
    assert not Event.objects.filter(kind=GUESSING_EVENT).exists()


def test_the_throttle_lives_in_the_shared_cache(client: Client, case: Case) -> None:
    """The page counts in Django's default cache (Redis in service), not in module memory."""
    post(client, case, "SAI" * 11, "198.51.100.1")
    cache.clear()  # another process's view of a fresh cache: nothing remembered here
    for _ in range(5):
        assert post(client, case, "SAI" * 11, "198.51.100.1") == 403


# --- the client's address -------------------------------------------------------------------


def test_forwarded_for_is_ignored_without_trusted_proxies(
    client: Client, case: Case, settings: Settings
) -> None:
    """Without trusted proxies every citizen behind an address counts as that address,
    and a forged X-Forwarded-For changes nothing."""
    settings.TRUSTED_PROXIES = 0
    for n in range(5):
        response = client.post(
            "/tra-cuu/",
            {"code": case.dossier.code, "secret": "X"},
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
        assert response.status_code == 403
    assert post(client, case, "X", "10.9.9.9") == 429


def test_trusted_proxy_forwards_each_citizens_address(
    client: Client, case: Case, settings: Settings
) -> None:
    """Behind one trusted proxy, 20 junk posts from one citizen do not stop another."""
    settings.TRUSTED_PROXIES = 1
    for _ in range(20):
        client.post(
            "/tra-cuu/",
            {"code": case.dossier.code, "secret": "X"},
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR="198.51.100.66",
        )
    response = client.post(
        "/tra-cuu/",
        {"code": case.dossier.code, "secret": case.secret},
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("10.0.0.1", "203.0.113.5", 0, "10.0.0.1"),
        ("10.0.0.1", "203.0.113.5", (), "10.0.0.1"),
        ("10.0.0.1", "", 1, "10.0.0.1"),
        ("10.0.0.1", "203.0.113.5", 1, "203.0.113.5"),
        # A forged entry is to the left of the one the proxy appended.
        ("10.0.0.1", "6.6.6.6, 203.0.113.5", 1, "203.0.113.5"),
        ("10.0.0.2", "203.0.113.5, 10.0.0.1", 2, "203.0.113.5"),
        ("10.0.0.1", "203.0.113.5", 3, "203.0.113.5"),
        ("10.0.0.1", "6.6.6.6, 203.0.113.5", ("10.0.0.0/8",), "203.0.113.5"),
        ("10.0.0.2", "6.6.6.6, 203.0.113.5, 10.0.0.1", ("10.0.0.0/8",), "203.0.113.5"),
        # The peer is not a trusted proxy: its header is its own invention.
        ("192.0.2.1", "203.0.113.5", ("10.0.0.0/8",), "192.0.2.1"),
        ("10.0.0.1", "203.0.113.5:4711", 1, "203.0.113.5"),
        ("10.0.0.1", "[2001:db8::1]:443", 1, "2001:db8::1"),
        ("10.0.0.1", "unknown", 1, "10.0.0.1"),
        ("10.0.0.1", "203.0.113.5, junk", 1, "10.0.0.1"),
    ],
)
def test_pick_client(
    remote: str, forwarded: str, trusted: int | tuple[str, ...], expected: str
) -> None:
    """The client is the first hop from the right that no trusted proxy accounts for."""
    assert pick_client(remote, forwarded, trusted) == expected


def test_client_address_reads_the_request(settings: Settings) -> None:
    """``client_address`` uses REMOTE_ADDR, and the header only when proxies are trusted."""
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    settings.TRUSTED_PROXIES = 0
    assert client_address(request) == "10.0.0.1"
    settings.TRUSTED_PROXIES = ("10.0.0.0/8",)
    assert client_address(request) == "203.0.113.5"
