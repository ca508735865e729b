"""Chaos and scaling bench: dossiers through the distributed roles while processes are killed.

    .venv/bin/python bench/chaos_bench.py                      # 200 dossiers, a kill every 4 s
    .venv/bin/python bench/chaos_bench.py --scaling -n 60      # 1 vs 2 worker processes, no kills
    .venv/bin/python bench/chaos_bench.py --chaos-for 600      # kills for 10 minutes, then settle

Uses the machine's PostgreSQL and a private Redis (its own port, append-only file), as
tests/e2e/test_scaleout.py does. Each dossier is one small page signed automatically
with the office's organisation key, emailed (SMTP stand-in) and sent by SMS (gateway
stand-in). Prints completed, lost (not delivered by the deadline), duplicated (sends
and signatures beyond one per dossier) and the p95 time from drop to delivery; with
``--scaling`` the throughput of one and of two worker processes and their ratio, and
the pages per hour per core this machine does.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import load_average, machine_speed  # noqa: E402
from tests.support.fleet import Fleet, PrivateRedis, fresh_postgres  # noqa: E402


def _victims(fleet: Fleet) -> list[tuple[str, int | str]]:
    """What may be killed now: a worker's child, a whole role or the broker (restarted at
    once, the broker from its append-only file)."""
    found: list[tuple[str, int | str]] = [("child", pid) for pid in fleet.children("worker")]
    return found + [("role", name) for name in ("worker", "beat", "watch")] + [("broker", "")]


def run(
    n: int,
    *,
    processes: int,
    kill_every_s: float | None,
    deadline_s: float,
    chaos_s: float | None = None,
) -> dict[str, float]:
    """Drop ``n`` dossiers into a fresh deployment, kill at random for ``chaos_s`` seconds
    (all the time when None), then let it finish; measure the outcome at ``deadline_s``.
    Lost is what was not delivered by the deadline; the states it was left in are counted."""
    import os
    import signal

    roles: dict[str, tuple[str, ...]] = {
        "worker": ("worker", "-c", str(processes)),
        "beat": ("beat",),
        "watch": ("watch",),
    }
    with (
        tempfile.TemporaryDirectory(prefix="motcua-chaos-") as tmp,
        fresh_postgres() as db,
        PrivateRedis(Path(tmp) / "redis") as redis,
        Fleet(
            Path(tmp) / "var", roles, MOTCUA_DATABASE_URL=db, MOTCUA_BROKER_URL=redis.url
        ) as fleet,
    ):
        kills = 0
        fleet.setup()
        fleet.start_all()
        codes = [f"HS-BENCH-{i:04d}" for i in range(n)]
        time.sleep(5)  # the roles up before the clock starts
        started = time.time()
        fleet.drop(codes, seed=17)
        next_kill = time.monotonic() + (kill_every_s or 0)
        while time.time() - started < deadline_s:
            states = fleet.states()
            if len(states) == n and all(s in {"DELIVERED", "FAILED"} for s in states.values()):
                break
            killing = chaos_s is None or time.time() - started < chaos_s
            if kill_every_s and killing and time.monotonic() >= next_kill:
                kind, what = secrets.choice(_victims(fleet))
                if kind == "child":
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(what), signal.SIGKILL)
                elif kind == "broker":
                    redis.restart()
                else:
                    fleet.restart(str(what))
                kills += 1
                jitter = 0.5 + secrets.randbelow(1000) / 1000
                next_kill = time.monotonic() + kill_every_s * jitter
            time.sleep(0.5)
        elapsed = time.time() - started
        done = fleet.query(
            "select extract(epoch from e.at) from dossiers_event e where e.kind = 'delivered'"
        )
        times = sorted(float(at) - started for (at,) in done)
        report = fleet.report()
        completed = len(times)
        duplicated = (
            max(0, report["signed_events"] - completed)
            + report["emails"]
            - report["emails_distinct"]
            + report["sms"]
            - report["sms_distinct"]
        )
        p95 = times[int(0.95 * (len(times) - 1))] if times else float("nan")
        left = Counter(s for s in fleet.states().values() if s != "DELIVERED")
        if left:
            print("not delivered, by state:", dict(left))
        return {
            "completed": completed,
            "lost": n - completed,
            "duplicated": duplicated,
            "p95_s": p95,
            "median_s": statistics.median(times) if times else float("nan"),
            "elapsed_s": elapsed,
            "last_s": times[-1] if times else float("nan"),
            "kills": kills,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--dossiers", type=int, default=200)
    parser.add_argument("--kill-every", type=float, default=4.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=1800)
    parser.add_argument(
        "--chaos-for", type=float, default=None, help="kill only during the first S seconds"
    )
    parser.add_argument("--scaling", action="store_true", help="1 vs 2 processes, no kills")
    args = parser.parse_args()
    print(f"load average at the start: {load_average()}; machine speed: {machine_speed()}")
    if args.scaling:
        one = run(args.dossiers, processes=1, kill_every_s=None, deadline_s=args.deadline)
        two = run(args.dossiers, processes=2, kill_every_s=None, deadline_s=args.deadline)
        rate1 = one["completed"] / one["last_s"]
        rate2 = two["completed"] / two["last_s"]
        print(
            f"1 process:   {one['completed']:.0f} dossiers in {one['last_s']:.1f} s "
            f"= {rate1 * 3600:.0f} pages/hour (one page each)"
        )
        print(
            f"2 processes: {two['completed']:.0f} dossiers in {two['last_s']:.1f} s "
            f"= {rate2 * 3600:.0f} pages/hour"
        )
        print(f"throughput ratio 2/1: {rate2 / rate1:.2f} (target ≥ 1.8)")
        print(f"pages per hour per core (1 process, whole line): {rate1 * 3600:.0f}")
        return 0
    outcome = run(
        args.dossiers,
        processes=args.processes,
        kill_every_s=args.kill_every,
        deadline_s=args.deadline,
        chaos_s=args.chaos_for,
    )
    print(f"load average at the end: {load_average()}")
    print(
        f"dossiers {args.dossiers}: completed {outcome['completed']:.0f}, "
        f"lost {outcome['lost']:.0f}, duplicated {outcome['duplicated']:.0f}, "
        f"p95 {outcome['p95_s']:.1f} s, median {outcome['median_s']:.1f} s, "
        f"all in {outcome['last_s']:.1f} s, {outcome['kills']:.0f} kills"
    )
    return 0 if outcome["lost"] == 0 and outcome["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
