"""How a deployment's raw values become settings: secret key, cache, proxies, scheduler table.

``motcua.settings`` reads the environment and hands the values here; nothing here reads it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

__all__ = ["beat_schedule", "cache_url", "secret_key", "trusted_proxies"]


def secret_key(configured: str, data_dir: Path) -> str:
    """MOTCUA_SECRET_KEY when given, else the data directory's own, made once (0600)."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written whole under a private name, then linked in place: processes starting at once
    # (the roles of a compose deployment on a shared volume) all read the one key made first.
    draft = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(50))
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


def cache_url(configured: str, broker_url: str, redis_socket: Path) -> str:
    """The shared cache (lookup throttle, download tokens): Redis, another DB than the broker's.

    MOTCUA_CACHE_URL when given; embedded, the private Redis's socket, DB 1; distributed
    with a Redis broker, the broker's server with the next DB number; otherwise required.
    """
    if configured:
        return configured
    if not broker_url:
        return f"unix://{redis_socket}?db=1"
    parsed = urlsplit(broker_url)
    if parsed.scheme in {"redis", "rediss"}:
        db = int(parsed.path.strip("/") or 0)
        return urlunsplit(parsed._replace(path=f"/{(db + 1) % 16}"))
    raise ImproperlyConfigured(
        "MOTCUA_CACHE_URL is required when MOTCUA_BROKER_URL is not redis:// "
        "(e.g. redis://host:6379/1)"
    )


def trusted_proxies(raw: str) -> int | tuple[str, ...]:
    """MOTCUA_TRUSTED_PROXIES: a count of reverse proxies in front, or their networks (CIDRs)."""
    raw = raw.strip()
    if not raw:
        return 0
    if raw.isdigit():
        return int(raw)
    networks = tuple(part.strip() for part in raw.split(",") if part.strip())
    for network in networks:
        ipaddress.ip_network(network, strict=False)  # a typo fails at start-up
    return networks


def beat_schedule(
    *, recovery_s: float, lease_sweep_s: float, deadline_watch_s: float, statistics_s: float
) -> dict[str, dict[str, str | float]]:
    """The scheduler's table: each package's recovery of its own stage, the lease sweeps, the
    deadline watch and the statistics' store, every so many seconds."""
    schedule: dict[str, dict[str, str | float]] = {
        f"recover-{stage}": {"task": f"{package}.tasks.recover_{stage}", "schedule": recovery_s}
        for package, stage in (
            ("digitize", "digitizing"),
            ("signing", "signing"),
            ("publishing", "publishing"),
        )
    }
    for sweep in ("digitize.tasks.recover_leases", "signing.tasks.recover_signing_leases"):
        schedule[f"sweep-{sweep}"] = {"task": sweep, "schedule": lease_sweep_s}
    schedule["watch-deadlines"] = {
        "task": "dossiers.tasks.watch_deadlines",
        "schedule": deadline_watch_s,
    }
    schedule["store-statistics"] = {
        "task": "backoffice.tasks.store_statistics",
        "schedule": statistics_s,
    }
    return schedule
