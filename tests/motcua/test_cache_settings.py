"""Tests of the shared cache's and the trusted proxies' settings."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.motcua.test_settings import load_settings


def settings_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> ModuleType:
    for name in ("MOTCUA_CACHE_URL", "MOTCUA_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    return load_settings(monkeypatch, MOTCUA_DATA_DIR=str(tmp_path), **env)


def test_embedded_cache_is_the_private_redis_on_another_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedded, the cache is Django's Redis backend on the private socket, DB 1 (the broker
    uses DB 0 of the same server)."""
    s = settings_with(monkeypatch, tmp_path)
    cache = s.CACHES["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == f"unix://{tmp_path.resolve()}/run/redis.sock?db=1"


@pytest.mark.parametrize(
    ("broker", "expected"),
    [
        ("redis://redis:6379/0", "redis://redis:6379/1"),
        ("redis://redis:6379", "redis://redis:6379/1"),
        ("rediss://:pw@redis:6380/13", "rediss://:pw@redis:6380/14"),
        ("redis://redis:6379/15", "redis://redis:6379/0"),
    ],
)
def test_distributed_cache_follows_a_redis_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broker: str, expected: str
) -> None:
    """With a Redis broker the cache is the same server, the next DB number."""
    s = settings_with(monkeypatch, tmp_path, MOTCUA_BROKER_URL=broker)
    assert s.CACHES["default"]["LOCATION"] == expected


def test_cache_url_is_used_as_given_and_required_beside_rabbitmq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MOTCUA_CACHE_URL wins; a RabbitMQ broker without it stops the start."""
    s = settings_with(
        monkeypatch,
        tmp_path,
        MOTCUA_BROKER_URL="amqp://guest@rabbit//",
        MOTCUA_CACHE_URL="redis://cache:6379/3",
    )
    assert s.CACHES["default"]["LOCATION"] == "redis://cache:6379/3"
    with pytest.raises(ImproperlyConfigured, match="MOTCUA_CACHE_URL"):
        settings_with(monkeypatch, tmp_path, MOTCUA_BROKER_URL="amqp://guest@rabbit//")


def test_trusted_proxies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset: nobody's X-Forwarded-For is believed; a count, or networks checked at start."""
    assert settings_with(monkeypatch, tmp_path).TRUSTED_PROXIES == 0
    assert settings_with(monkeypatch, tmp_path, MOTCUA_TRUSTED_PROXIES="2").TRUSTED_PROXIES == 2
    networks = settings_with(
        monkeypatch, tmp_path, MOTCUA_TRUSTED_PROXIES="10.0.0.0/8, 2001:db8::/32"
    ).TRUSTED_PROXIES
    assert networks == ("10.0.0.0/8", "2001:db8::/32")
    with pytest.raises(ValueError):
        settings_with(monkeypatch, tmp_path, MOTCUA_TRUSTED_PROXIES="10.0.0.0/33")
