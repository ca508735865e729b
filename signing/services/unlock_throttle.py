"""A limit on wrong passphrases and PINs per signer, checked before the key or token is tried.

A stolen session must not be able to guess an official's key passphrase, nor spend a
hardware token's PIN counter until the token locks itself (unlocking it takes the CA's
SO PIN). So every unlock of a signer's key goes through :func:`guarded`: one attempt at
a time per signer; after ``limit`` wrong secrets in a row the next attempt waits (15
minutes, then twice as long after each further wrong one), and while it waits the key
file is not decrypted and the token's C_Login is not called at all. A right secret
forgets the count. The count lives in the shared cache (``settings.CACHES``), so every
web process and ``motcua approve`` see the same; it never holds the secret itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.vntime import to_vn
from signing.errors import KeyUnlockError
from signing.models import Signer

__all__ = ["UnlockRefused", "failures", "guarded", "reset"]

T = TypeVar("T")

STATE_TTL_S = 7 * 24 * 3600
"""How long a run of wrong secrets is remembered without a right one."""
LONGEST_WAIT_S = 24 * 3600
"""The wait never grows beyond a day."""
IN_FLIGHT_S = 120
"""How long one attempt may hold the signer's turn (a token's login takes seconds)."""


class UnlockRefused(KeyUnlockError):
    """The attempt was refused before the key was tried: too many wrong secrets, or another
    attempt for the same signer is under way."""

    default_message_vi = "Chưa thể mở khóa ký lúc này; xin thử lại sau"
    default_disposition = "retry"  # the wait ends by itself: ``motcua approve`` exits 75


def _limit(signer: Signer) -> int:
    if signer.on_token:
        return int(settings.SIGNING_TOKEN_UNLOCK_FAILURES)
    return int(settings.SIGNING_UNLOCK_FAILURES)


def _keys(signer: Signer) -> tuple[str, str]:
    base = f"signing:unlock:{signer.pk}"
    return f"{base}:state", f"{base}:turn"


def failures(signer: Signer) -> int:
    """Wrong secrets in a row for ``signer`` (0 after a right one)."""
    state: dict[str, float] = cache.get(_keys(signer)[0]) or {}
    return int(state.get("failures", 0))


def reset(signer: Signer) -> None:
    """Forget the wrong secrets of ``signer`` (an administrator's decision, or a right one)."""
    cache.delete(_keys(signer)[0])


def _refusal(signer: Signer, count: int, until: dt.datetime) -> UnlockRefused:
    what = "mã PIN thiết bị ký số" if signer.on_token else "mật khẩu khóa ký"
    why = (
        "để thiết bị không bị khóa"
        if signer.on_token
        else "để bảo vệ khóa ký trước người đoán mật khẩu"
    )
    return UnlockRefused(
        f"Đã nhập sai {what} {count} lần liên tiếp; {why}, chỉ được thử lại sau "
        f"{to_vn(until).strftime('%H:%M %d/%m/%Y')} (giờ Việt Nam)"
    )


@contextmanager
def _turn(signer: Signer) -> Iterator[None]:
    """One unlock attempt per signer at a time, across every process sharing the cache."""
    key = _keys(signer)[1]
    if not cache.add(key, 1, timeout=IN_FLIGHT_S):
        raise UnlockRefused(
            "Một lần mở khóa ký khác của cùng người ký đang diễn ra; xin đợi giây lát rồi thử lại"
        )
    try:
        yield
    finally:
        cache.delete(key)


def guarded(signer: Signer, attempt: Callable[[], T], *, now: dt.datetime | None = None) -> T:
    """Run ``attempt`` (which tries the secret) unless ``signer`` must wait; count the outcome.

    Raises :class:`UnlockRefused` without calling ``attempt`` while the signer waits.
    A :class:`KeyUnlockError` from ``attempt`` (a wrong passphrase or PIN) counts as a
    failure; any other error (no token, a certificate refused) does not count.
    """
    state_key = _keys(signer)[0]
    with _turn(signer):
        moment = now or timezone.now()
        state: dict[str, float] = cache.get(state_key) or {}
        count = int(state.get("failures", 0))
        until = state.get("until", 0.0)
        if until and moment.timestamp() < until:
            raise _refusal(signer, count, dt.datetime.fromtimestamp(until, tz=dt.UTC))
        try:
            result = attempt()
        except UnlockRefused:
            raise
        except KeyUnlockError:
            count += 1
            limit = _limit(signer)
            new_state: dict[str, float] = {"failures": count}
            if count >= limit:
                wait = min(
                    float(settings.SIGNING_UNLOCK_WAIT_S) * 2 ** (count - limit), LONGEST_WAIT_S
                )
                new_state["until"] = moment.timestamp() + wait
            cache.set(state_key, new_state, timeout=STATE_TTL_S)
            if "until" in new_state:
                closed = dt.datetime.fromtimestamp(new_state["until"], tz=dt.UTC)
                raise _refusal(signer, count, closed) from None
            raise
        cache.delete(state_key)
        return result
