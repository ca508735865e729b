"""The client behind trusted reverse proxies: the hop of X-Forwarded-For that can be believed."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from functools import lru_cache

__all__ = ["pick_client"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def pick_client(remote_addr: str, forwarded_for: str, trusted: int | Sequence[str]) -> str:
    """Choose the client from the hops ``X-Forwarded-For`` + REMOTE_ADDR, right to left.

    ``trusted`` is a count (that many proxies append to the header, the rightmost
    entries are theirs) or a list of networks (every hop inside them is a proxy); with
    none (0, the default setting) REMOTE_ADDR is the client, since anyone can send the
    header. An entry that is not an IP address ends the walk at the hop to its right.
    """
    if not trusted or not forwarded_for.strip():
        return remote_addr
    hops = [_address(entry) for entry in forwarded_for.split(",")]
    chain = [*hops, remote_addr]
    if isinstance(trusted, int):
        return _walk(chain, lambda index, _hop: index < trusted)
    networks = _networks(tuple(trusted))
    return _walk(chain, lambda _index, hop: _inside(hop, networks))


def _walk(chain: list[str], is_proxy: Callable[[int, str], bool]) -> str:
    """The first hop from the right that ``is_proxy(index_from_right, hop)`` does not vouch for."""
    chosen = chain[-1]
    for index, hop in enumerate(reversed(chain)):
        if not hop:
            return chosen
        chosen = hop
        if not is_proxy(index, hop):
            return hop
    return chosen


def _address(entry: str) -> str:
    """The IP address in one X-Forwarded-For entry (port and brackets dropped), or ""."""
    entry = entry.strip()
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return ""


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _inside(hop: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(hop)
    except ValueError:
        return False
    return any(address in network for network in networks)
