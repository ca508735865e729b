"""Public lookup benchmark: ``motcua web`` on loopback, lookups per second, p99, wrong secrets.

Starts a private Redis (as ``motcua run`` does) and ``motcua web`` (waitress) against a
scratch data directory holding ``--dossiers`` registered dossiers, half of them with a
published result. The web server is told it sits behind one reverse proxy
(``MOTCUA_TRUSTED_PROXIES=1``) and each request carries its own X-Forwarded-For address, so
the throttle sees many citizens, as it does behind nginx. Only 127.0.0.1 is used.

1. Successful lookups (the right code and secret) from ``--threads`` concurrent
   ``http.client`` connections: lookups per second and latency percentiles.
2. ``--wrong`` wrong secrets, half for existing codes and half for unknown ones: every
   response must be the same status and body once the CSRF token and the echoed code
   are blanked out, and the two halves are timed side by side.
3. One address guessing: its answers (403, then 429 with Retry-After), and the citizen
   with the right secret from another address straight after.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import load_average, machine_speed, verdict  # noqa: E402
from bench.webservice import (  # noqa: E402
    HOST,
    Pids,
    free_port,
    service,
    setup,
)

TARGET_PER_S = 500
TARGET_P99_MS = 50.0


@dataclass(frozen=True)
class Citizen:
    code: str
    secret: str
    published: bool


def _seed(data_dir: Path, count: int) -> list[Citizen]:
    """Register ``count`` dossiers in the scratch database; half get a published result."""
    os.environ["MOTCUA_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "motcua.settings")
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from dossiers.files import store_bytes
    from dossiers.models import Document, DocumentState, Dossier, Event, Procedure
    from dossiers.services.registry import register_dossier

    procedure = Procedure.objects.select_related("office").first()
    assert procedure is not None, "motcua setup made no procedure"
    pdf = b"%PDF-1.7\n% bench result\n%%EOF\n"
    path, digest = store_bytes(pdf, data_dir / "store")
    citizens: list[Citizen] = []
    now = timezone.now()
    with transaction.atomic():
        for n in range(count):
            registered = register_dossier(
                code=f"000.00.21.H26-261122-{n:05d}",
                office=procedure.office,
                procedure=procedure,
                applicant_name="Trần Thị Bình",
            )
            dossier = registered.dossier
            published = n % 2 == 0
            if published:
                document = Document.objects.create(
                    dossier=dossier,
                    state=DocumentState.PUBLISHED,
                    source_sha256="0" * 64,
                    signed_path=str(path),
                    signed_sha256=digest,
                )
                Event.objects.bulk_create(
                    Event(dossier=dossier, document=document, kind=kind, at=now)
                    for kind in ("scans_received", "digitized", "signed", "resolved")
                )
                Dossier.objects.filter(pk=dossier.pk).update(
                    status=Dossier.Status.RESOLVED, resolved_at=now
                )
            citizens.append(Citizen(dossier.code, registered.secret, published))
    from django.db import connections

    connections.close_all()
    return citizens


@dataclass(frozen=True)
class Answer:
    """One response: status, body (blanked for wrong secrets), milliseconds, Retry-After."""

    status: int
    body: bytes
    ms: float
    retry_after: str
    known: bool = True


class Session:
    """One keep-alive connection with the CSRF cookie and token of a lookup form."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.conn.request("GET", "/tra-cuu/")
        response = self.conn.getresponse()
        page = response.read()
        cookie = response.getheader("Set-Cookie") or ""
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match and "csrftoken=" in cookie, "no CSRF token on /tra-cuu/"
        self.token = match.group(1).decode()
        self.cookie = cookie.split(";")[0]

    def lookup(self, code: str, secret: str, address: str) -> Answer:
        """POST one lookup from ``address`` (as a proxy would forward it)."""
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": self.token, "code": code, "secret": secret}
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": self.cookie,
            "X-Forwarded-For": address,
        }
        start = time.perf_counter()
        self.conn.request("POST", "/tra-cuu/", body=body, headers=headers)
        response = self.conn.getresponse()
        page = response.read()
        elapsed_ms = (time.perf_counter() - start) * 1000
        return Answer(response.status, page, elapsed_ms, response.getheader("Retry-After") or "")


def _address(n: int) -> str:
    """A distinct documentation-range-like address for request ``n`` (10.0.0.0/8)."""
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _run(
    port: int, threads: int, jobs: list[Callable[[Session], Answer]], max_seconds: float
) -> tuple[list[Answer], float]:
    """Run ``jobs`` over ``threads`` sessions; the answers in job order and wall seconds."""
    results: list[Answer | None] = [None] * len(jobs)
    cursor = iter(range(len(jobs)))
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    sessions = [Session(port) for _ in range(threads)]

    def worker(session: Session) -> None:
        while time.monotonic() < deadline:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            results[index] = jobs[index](session)

    pool = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - start
    for session in sessions:
        session.conn.close()
    return [r for r in results if r is not None], wall


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
_NONCE = re.compile(rb'nonce="[^"]+"')


def _blank(page: bytes, code: str) -> bytes:
    """The page with its CSRF token, its CSP nonces (new for every response) and the echoed
    code blanked out."""
    page = _CSRF.sub(b'name="csrfmiddlewaretoken" value=""', page)
    page = _NONCE.sub(b'nonce=""', page)
    return page.replace(f'value="{code}"'.encode(), b'value=""')


def main() -> int:
    """Seed, start, measure, print the figures beside the targets, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=3000)
    parser.add_argument("--lookups", type=int, default=3000)
    parser.add_argument("--wrong", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8, help="client connections")
    parser.add_argument("--server-threads", type=int, default=4, help="threads per process")
    parser.add_argument(
        "--server-processes", type=int, default=os.cpu_count() or 1, help="web processes"
    )
    parser.add_argument("--max-seconds", type=float, default=150.0, help="per phase")
    parser.add_argument("--keep", action="store_true", help="keep the scratch data directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="motcua-lookup-bench-"))
    data_dir = workdir / "data"
    try:
        setup(data_dir)
        seeded = time.perf_counter()
        citizens = _seed(data_dir, args.dossiers)
        print(f"seeded {len(citizens)} dossiers in {time.perf_counter() - seeded:.1f} s")
        print(f"machine speed: {machine_speed()}")
        port = free_port()
        pids = Pids()
        with service(data_dir, port, args.server_threads, args.server_processes, pids):
            return _measure(args, port, citizens, pids)
    finally:
        if args.keep:
            print(f"data kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _measure(args: argparse.Namespace, port: int, citizens: list[Citizen], pids: Pids) -> int:
    rng = random.Random(20261122)  # noqa: S311 (a reproducible sample, not a secret)
    ok = True
    # Warm-up: every server thread opens its database and cache connections.
    warm = [rng.choice(citizens) for _ in range(200)]
    _run(port, args.threads, [_right(c, 10_000_000 + i) for i, c in enumerate(warm)], 30)

    # 1. successful lookups
    chosen = [rng.choice(citizens) for _ in range(args.lookups)]
    load_at_start = load_average(", ")
    web_before, redis_before = pids.cpu_s()
    client_before = time.process_time()
    results, wall = _run(
        port, args.threads, [_right(c, i) for i, c in enumerate(chosen)], args.max_seconds
    )
    web_after, redis_after = pids.cpu_s()
    client_ms = (time.process_time() - client_before) * 1000
    load_at_end = load_average(", ")
    statuses = Counter(r.status for r in results)
    latencies = [r.ms for r in results]
    done = len(results)
    web_ms = (web_after - web_before) * 1000 / max(1, done)
    redis_ms = (redis_after - redis_before) * 1000 / max(1, done)
    per_s = done / wall
    p50, p99 = _percentile(latencies, 0.50), _percentile(latencies, 0.99)
    if statuses != Counter({200: done}):
        ok = False

    # 2. wrong secrets; the unknown codes repeat as often as the known ones (a code's
    # failures are counted once it has some: that cost must not tell the halves apart)
    unknown = [f"000.00.21.H26-999999-{n:05d}" for n in range(len(citizens))]
    wrong_jobs = []
    for i in range(args.wrong):
        known = i % 2 == 0
        code = rng.choice(citizens).code if known else rng.choice(unknown)
        secret = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(32))
        wrong_jobs.append(_wrong(code, secret, known, 20_000_000 + i))
    wrong_results, wrong_wall = _run(port, args.threads, wrong_jobs, args.max_seconds)
    shapes = Counter((r.status, r.body) for r in wrong_results)
    known_ms = [r.ms for r in wrong_results if r.known]
    unknown_ms = [r.ms for r in wrong_results if not r.known]
    identical = len(shapes) == 1
    wrong_status = next(iter(shapes))[0] if shapes else 0
    if not identical or wrong_status != 403:
        ok = False

    # 3. one address guessing, then the citizen from elsewhere
    victim = citizens[0]
    session = Session(port)
    answers = [session.lookup(victim.code, "SAI" * 11, "192.168.77.7") for _ in range(20)]
    guessing = Counter(a.status for a in answers)
    retry = [a.retry_after for a in answers if a.retry_after]
    citizen_status = session.lookup(victim.code, victim.secret, "192.168.88.8").status
    session.conn.close()
    if citizen_status != 200:
        ok = False

    print(
        f"\nloopback, motcua web (waitress, {args.server_processes} processes × "
        f"{args.server_threads} threads), "
        f"{args.threads} client threads, {os.cpu_count()} cores, {len(citizens)} dossiers"
    )
    print(f"load average at the start and the end of phase 1: {load_at_start} / {load_at_end}")
    print(f"{'':44s}{'measured':>14s}{'target':>12s}")
    print(f"{'successful lookups per second':44s}{per_s:14.0f}{TARGET_PER_S:>12d}")
    print(f"{'  p50 latency (ms)':44s}{p50:14.1f}{'':>12s}")
    print(f"{'  p99 latency (ms)':44s}{p99:14.1f}{TARGET_P99_MS:>12.0f}")
    print(f"{'  answers':44s}{dict(statuses)!s:>14s}")
    print(f"{'  web server CPU ms per lookup':44s}{web_ms:14.2f}")
    print(f"{'  Redis CPU ms per lookup':44s}{redis_ms:14.2f}")
    print(f"{'  this client CPU ms per lookup':44s}{client_ms / max(1, done):14.2f}")
    print(f"  ({done} lookups in {wall:.1f} s)")
    print(f"{'wrong secrets sent':44s}{len(wrong_results):14d}")
    print(f"{'  distinct (status, body) after blanking':44s}{len(shapes):14d}{1:>12d}")
    print(f"{'  status':44s}{wrong_status:14d}{403:>12d}")
    print(
        f"{'  mean ms, existing code / unknown code':44s}"
        f"{statistics.mean(known_ms):7.1f} /{statistics.mean(unknown_ms):5.1f}"
    )
    print(f"{'  wrong secrets per second':44s}{len(wrong_results) / wrong_wall:14.0f}")
    print(f"{'one address, 20 wrong secrets':44s}{dict(guessing)!s:>14s}")
    print(f"{'  Retry-After values (s)':44s}{','.join(sorted(set(retry), key=int)):>14s}")
    print(f"{'the citizen from another address':44s}{citizen_status:14d}{200:>12d}")
    met = per_s >= TARGET_PER_S and p99 < TARGET_P99_MS
    print(f"\ntargets {verdict(met)}; disclosure checks {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


def _right(citizen: Citizen, n: int) -> Callable[[Session], Answer]:
    def job(session: Session) -> Answer:
        return session.lookup(citizen.code, citizen.secret, _address(n))

    return job


def _wrong(code: str, secret: str, known: bool, n: int) -> Callable[[Session], Answer]:
    def job(session: Session) -> Answer:
        answer = session.lookup(code, secret, _address(n))
        return Answer(
            answer.status, _blank(answer.body, code), answer.ms, answer.retry_after, known
        )

    return job


if __name__ == "__main__":
    sys.exit(main())
