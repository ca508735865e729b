"""The public lookup's throttle: growing delays per client and per dossier code, never a lockout.

Every attempt is counted per client before its secret is checked (``cache.add`` then
``cache.incr``, atomic in Redis and across processes), so a burst from one client gets
no more than its free attempts checked. After a failure the client may have to wait
before its next attempt (a *gate* in the cache); the wait doubles with each further
failure, up to a cap. Failures against one dossier code are counted too, but they only
lengthen the waits of the clients that fail: a client that is not waiting always has its
secret checked, so the holder of the right secret is never refused because of someone
else's guesses, and a success clears the client's own count.

Keys are keyed hashes (HMAC with the project's secret key) of the address and of the
code; neither the secret nor an address is stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import BaseCache, cache
from django.utils.translation import gettext as _

from dossiers.models import Dossier
from dossiers.services.workflow import record_event

__all__ = [
    "Admission",
    "Failure",
    "LookupThrottle",
    "ThrottlePolicy",
    "client_tag",
    "note_guessing",
    "wait_text",
]

GUESSING_EVENT = "lookup_guessing"
"""The event kind recorded when a dossier receives many wrong secrets in one window."""


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures are free, how the waits grow, and when to raise an alert."""

    client_free: int = 5
    """Failures a client may make before it must wait (a citizen mistyping a few times)."""

    dossier_free: int = 10
    """Failures against one dossier code in a window, from anyone, before failing clients
    wait longer."""

    base_s: int = 2
    """The first wait, in seconds; each further failure doubles it (2, 4, 8 … seconds)."""

    cap_s: int = 900
    """The longest wait, in seconds (15 minutes); waits never turn into a lockout."""

    window_s: int = 3600
    """A client's count is forgotten this many seconds after its last failure."""

    dossier_window_s: int = 3600
    """Failures against a code are counted in fixed consecutive windows of this length."""

    hold_s: int = 10
    """How long a waiting client's admitted attempt holds its turn while its secret is checked."""

    alert_after: int = 20
    """More failures than this against one dossier within one window raise an event."""

    def wait_s(self, client_failures: int, dossier_failures: int) -> int:
        """Seconds a client must wait after its failure.

        ``client_failures`` counts the client's own failures (this one included) and
        ``dossier_failures`` everyone's against the code in this window. A client waits
        ``base·2^k`` once past its free failures (k from 0); against a dossier under
        guessing it waits ``base·2^k`` by the dossier's excess too, but never more
        than ``base·2^(its own failures)``, so one typo during an attack costs a
        citizen a few seconds, not the cap.
        """
        own = _doubling(self.base_s, client_failures - self.client_free)
        hot = min(
            _doubling(self.base_s, dossier_failures - self.dossier_free),
            _doubling(self.base_s, client_failures),
        )
        return min(self.cap_s, max(own, hot))


def _doubling(base: int, excess: int) -> int:
    """``base·2^excess`` for a non-negative excess, 0 below; bounded so it never overflows."""
    if excess < 0:
        return 0
    return int(base * 2 ** min(excess, 30))


@dataclass(frozen=True)
class Admission:
    """Whether an attempt may check its secret now, or how long the client must wait."""

    allowed: bool
    retry_after_s: int
    client: str
    """The client's hashed key."""
    dossier: str
    """The code's hashed key."""
    attempt: int
    """The client's attempts since its last success, this one included."""
    turn: bool = False
    """The attempt holds the client's turn (it was past its free attempts)."""
    fresh: bool = False
    """The client had no count: no failure on record, so no wait either."""


@dataclass(frozen=True)
class Failure:
    """What a failed attempt changed: the client's wait, and whether to raise the alert."""

    wait_s: int
    dossier_failures: int
    """Failures against the code in the current window, this one included."""
    window_s: int
    """The length of the dossier's counting window."""
    alert: bool
    """True for exactly one failure per dossier and window: the one past the limit."""


class LookupThrottle:
    """Counts lookup attempts in a (shared) Django cache; one instance per request is fine.

    Round trips: a citizen with no failures on record costs one ``add`` before the
    check and one ``delete_many`` after it; a failure adds two to four.
    """

    def __init__(
        self,
        store: BaseCache | None = None,
        policy: ThrottlePolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
        key: bytes | None = None,
    ) -> None:
        self.store = store if store is not None else cache
        self.policy = policy or ThrottlePolicy()
        self.clock = clock
        self._hmac_key = key if key is not None else _project_key()

    # -- keys ----------------------------------------------------------------------------------
    def _hash(self, kind: str, value: str) -> str:
        return hmac.new(self._hmac_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def _keys(client: str) -> tuple[str, str, str]:
        return f"lookup:c:{client}:n", f"lookup:c:{client}:gate", f"lookup:c:{client}:turn"

    # -- atomic counters -----------------------------------------------------------------------
    def _count(self, key: str, timeout: int) -> tuple[int, bool]:
        """Add one to the counter at ``key`` (made with ``timeout``): its value, and whether
        this call created it."""
        for _attempt in range(3):
            if self.store.add(key, 1, timeout):
                return 1, True
            try:
                value = int(self.store.incr(key))
            except ValueError:  # expired between add and incr: start it again
                continue
            if value == 1:  # back from 0, or re-made by an INCR racing its expiry: expire it
                self.store.touch(key, timeout)
            return value, False
        raise RuntimeError(f"cache counter {key} keeps expiring")

    def _uncount(self, key: str) -> None:
        with contextlib.suppress(ValueError):  # expired meanwhile: nothing to take back
            self.store.decr(key)

    def _gate_wait(self, gate: str, now: float) -> int:
        """Seconds left on the client's gate, 0 when it is open."""
        until = self.store.get(gate)
        if until is None or float(until) <= now:
            return 0
        return max(1, math.ceil(float(until) - now))

    # -- the three steps of an attempt ---------------------------------------------------------
    def admit(self, client_address: str, code: str) -> Admission:
        """Count the attempt and tell whether its secret may be checked now."""
        client = self._hash("client", client_address)
        dossier = self._hash("dossier", code.strip())
        attempts, gate, turn = self._keys(client)
        attempt, fresh = self._count(attempts, self.policy.window_s)
        if fresh and attempt <= self.policy.client_free:
            # A gate never outlives the count (a failure keeps the count at least as long).
            return Admission(True, 0, client, dossier, attempt, fresh=True)
        now = self.clock()
        holds_turn = attempt > self.policy.client_free
        if holds_turn and not self.store.add(turn, 1, self.policy.hold_s):
            wait = 1  # another attempt of this client is being checked right now
        else:
            # The turn is taken before the gate is read: a failure sets its gate before
            # it releases the turn, so no attempt slips in between.
            wait = self._gate_wait(gate, now)
            if not wait:
                return Admission(True, 0, client, dossier, attempt, turn=holds_turn)
            if holds_turn:
                self.store.delete(turn)
        self._uncount(attempts)  # a refused attempt is not a failure
        return Admission(False, wait, client, dossier, attempt - 1)

    def succeeded(self, admission: Admission) -> None:
        """The right secret: forget the client's failures (never the dossier's)."""
        attempts, gate, turn = self._keys(admission.client)
        if admission.fresh:
            self.store.delete(attempts)
        else:
            self.store.delete_many([attempts, gate, *([turn] if admission.turn else [])])

    def failed(self, admission: Admission) -> Failure:
        """A wrong code or secret: count it against the code, set the client's next wait."""
        attempts, gate, turn = self._keys(admission.client)
        policy = self.policy
        now = self.clock()
        window = int(now // policy.dossier_window_s)
        against, _ = self._count(f"lookup:d:{admission.dossier}:w{window}", policy.dossier_window_s)
        wait = policy.wait_s(admission.attempt, against)
        if wait:
            self.store.set(gate, now + wait, wait)
        if not admission.fresh or wait > policy.window_s:
            # The count outlives the gate, and its window slides with each failure.
            self.store.touch(attempts, max(policy.window_s, wait))
        if admission.turn:
            self.store.delete(turn)
        return Failure(
            wait_s=wait,
            dossier_failures=against,
            window_s=policy.dossier_window_s,
            alert=against == policy.alert_after + 1,
        )


def _project_key() -> bytes:
    return hashlib.sha256(b"motcua.lookup.throttle:" + settings.SECRET_KEY.encode()).digest()


def client_tag(client_address: str) -> str:
    """A short keyed hash of an address, for an administrator to tell clients apart."""
    digest = hmac.new(_project_key(), f"tag:{client_address}".encode(), hashlib.sha256)
    return digest.hexdigest()[:10]


def note_guessing(dossier: Dossier, failure: Failure, client_address: str) -> None:
    """Record that ``dossier`` receives many wrong secrets (no secret, no address in clear)."""
    record_event(
        dossier,
        GUESSING_EVENT,
        actor="tra-cuu",
        detail={
            "failures_in_window": failure.dossier_failures,
            "window_minutes": failure.window_s // 60,
            "client": client_tag(client_address),
            "note": "Nhiều lần nhập sai mã tra cứu của hồ sơ này; có thể ai đó đang dò mã.",
        },
    )


def wait_text(seconds: int) -> str:
    """The Vietnamese sentence asking a citizen to wait ``seconds`` before trying again."""
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        amount = _("%(s)d giây") % {"s": seconds}
    elif not rest:
        amount = _("%(m)d phút") % {"m": minutes}
    else:
        amount = _("%(m)d phút %(s)d giây") % {"m": minutes, "s": rest}
    return _(
        "Bạn đã nhập sai nhiều lần. Vui lòng chờ %(amount)s rồi thử lại "
        "(kiểm tra kỹ mã hồ sơ và mã tra cứu in trên giấy tiếp nhận)."
    ) % {"amount": amount}
