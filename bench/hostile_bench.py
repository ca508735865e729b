"""Hostile files on the public verification page: each one's answer time, and /healthz meanwhile.

Starts a private Redis and ``motcua web`` (waitress, as in production) on a loopback port
against a scratch data directory whose one trust root is a throwaway CA, then uploads
to ``/kiem-tra/`` the hostile files of the tests (``tests/support/hostile.py``): one
signature behind 200 fields (the issue's duplicated signature reference), 10 000
signature fields, a cross-reference stream that inflates to 1 GiB, an array nested
100 000 deep; and, for reference, a valid signed PDF. A thread meanwhile opens a new
connection to ``/healthz`` every 20 ms, as a load balancer's probe would.

1. **Cold**: the first hostile file right after the server answers ``/healthz`` (its
   verification processes may still be starting).
2. **One at a time**: each file ``--rounds`` times once the server is idle: the slowest
   answer, and the slowest ``/healthz`` while it was checked.
3. **All at once**: the four hostile files together, each from its own address.

Every request carries its own X-Forwarded-For address (the per-client allowance never
refuses one) and ``MOTCUA_VERIFY_CONCURRENCY`` is 4, so no upload is answered "busy".
Targets (issue #9): every hostile file answered within 5 s, ``/healthz`` under 100 ms.
Exit status 1 when a file gets another verdict than expected.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import load_average, machine_speed, verdict  # noqa: E402
from bench.processes import tree_cpu_s  # noqa: E402
from bench.webservice import HOST, Pids, free_port, service, setup  # noqa: E402
from tests.support.uploads import post_for_verdict  # noqa: E402

TARGET_ANSWER_S = 5.0
TARGET_HEALTHZ_MS = 100.0
HOSTILE = (
    "many-fields-one-signature",
    "10000-signature-fields",
    "decompression-bomb",
    "deeply-nested",
)
REFERENCE = "signed, valid (reference)"


def _files(workdir: Path) -> tuple[dict[str, bytes], Path]:
    """The hostile files, the valid reference, and the CA certificate to trust."""
    from signing.keys.pkcs12 import load_pkcs12_signer
    from signing.pades.sign import sign_pdf
    from tests.support.hostile import (
        decompression_bomb,
        deeply_nested,
        many_fields_one_signature,
        many_signature_fields,
    )
    from tests.support.pki import TEST_PASSPHRASE, make_test_pdf, make_test_pki

    pki = make_test_pki(workdir / "pki")
    unsigned = make_test_pdf(pages=1)
    signed = sign_pdf(unsigned, load_pkcs12_signer(pki.pkcs12, TEST_PASSPHRASE))
    files = {
        "many-fields-one-signature": many_fields_one_signature(signed, 200),
        "10000-signature-fields": many_signature_fields(unsigned, 10_000),
        "decompression-bomb": decompression_bomb(signed),
        "deeply-nested": deeply_nested(signed),
        REFERENCE: signed,
    }
    return files, pki.ca_cert


@dataclass
class Probe:
    """``/healthz`` every ``every_s`` on a new connection, in a thread: (start, ms) samples."""

    port: int
    every_s: float = 0.02
    samples: list[tuple[float, float]] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().read() == b"ok"
                conn.close()
            except OSError:
                ok = False
            if ok:
                self.samples.append((started, (time.perf_counter() - started) * 1000))
            else:
                self.failures += 1
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()

    def worst_ms(self, start: float, end: float) -> tuple[float, int]:
        """The slowest probe started between ``start`` and ``end``, and how many started."""
        inside = [ms for at, ms in self.samples if start <= at <= end]
        return (max(inside) if inside else float("nan")), len(inside)


@dataclass(frozen=True)
class Answer:
    status: int
    verdict: str
    seconds: float
    start: float
    end: float


def upload(port: int, data: bytes, address: str) -> Answer:
    """POST ``data`` to ``/kiem-tra/`` from ``address`` (as a proxy would forward it)."""
    start = time.perf_counter()
    status, verdict = post_for_verdict(HOST, port, data, timeout_s=60, forwarded_for=address)
    end = time.perf_counter()
    return Answer(status, verdict, end - start, start, end)


def _settle(pids: Pids, quiet_s: float = 1.0, limit_s: float = 60.0) -> float:
    """Wait until the web server's processes (its verification processes included) use
    no more CPU than the probe costs them (a tenth of a core at most): the seconds waited."""
    started = time.monotonic()
    last = tree_cpu_s(pids.web)
    while time.monotonic() - started < limit_s:
        time.sleep(quiet_s)
        now = tree_cpu_s(pids.web)
        if now - last < 0.1 * quiet_s:
            break
        last = now
    return time.monotonic() - started


class Report:
    """The rows printed, and whether every verdict was the expected one."""

    def __init__(self) -> None:
        self.ok = True
        self.slowest_s = 0.0
        self.worst_healthz_ms = 0.0

    def row(self, label: str, name: str, answers: list[Answer], probe: Probe) -> None:
        expected = "valid" if name == REFERENCE else "refused"
        verdicts = sorted({a.verdict or str(a.status) for a in answers})
        if verdicts != [expected] or any(a.status != 200 for a in answers):
            self.ok = False
        worst = max(a.seconds for a in answers)
        healthz, samples = probe.worst_ms(
            min(a.start for a in answers), max(a.end for a in answers)
        )
        if name != REFERENCE:
            self.slowest_s = max(self.slowest_s, worst)
            if samples:
                self.worst_healthz_ms = max(self.worst_healthz_ms, healthz)
        print(
            f"{label:12s}{name:28s}{','.join(verdicts):>10s}{worst * 1000:>12.0f}"
            f"{healthz:>14.1f}{samples:>9d}"
        )


def main() -> int:
    """Make the files, start the server, measure, print, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="uploads of each file, one at a time")
    parser.add_argument("--server-processes", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=4)
    parser.add_argument("--spares", type=int, default=2, help="MOTCUA_VERIFY_SPARES")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="motcua-hostile-bench-"))
    data_dir = workdir / "data"
    try:
        files, ca_cert = _files(workdir)
        setup(data_dir)
        trust = data_dir / "pki" / "trust"
        trust.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ca_cert, trust / "ca.pem")
        port = free_port()
        pids = Pids()
        extra = {"MOTCUA_VERIFY_CONCURRENCY": "4", "MOTCUA_VERIFY_SPARES": str(args.spares)}
        with service(data_dir, port, args.server_threads, args.server_processes, pids, extra):
            return _measure(args, port, pids, files)
    finally:
        if args.keep:
            print(f"files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _measure(args: argparse.Namespace, port: int, pids: Pids, files: dict[str, bytes]) -> int:
    probe = Probe(port)
    prober = threading.Thread(target=probe.run, daemon=True)
    report = Report()
    print(
        f"loopback, motcua web (waitress, {args.server_processes} processes × "
        f"{args.server_threads} threads), {args.spares} spare verification processes each"
    )
    print(f"load average at the start: {load_average(', ')}; machine speed: {machine_speed()}")
    print(
        f"{'':12s}{'file':28s}{'verdict':>10s}{'answer ms':>12s}{'healthz max':>14s}{'probes':>9s}"
    )
    prober.start()
    address = iter(f"10.9.{n >> 8 & 255}.{n & 255}" for n in range(1, 60_000))
    try:
        cold = HOSTILE[1]
        report.row("cold", cold, [upload(port, files[cold], next(address))], probe)
        waited = _settle(pids)
        for name in (*HOSTILE, REFERENCE):
            answers = [upload(port, files[name], next(address)) for _ in range(args.rounds)]
            report.row("one by one", name, answers, probe)
        _settle(pids)
        together: dict[str, Answer] = {}

        def send(name: str, source: str) -> None:
            together[name] = upload(port, files[name], source)

        threads = [threading.Thread(target=send, args=(n, next(address))) for n in HOSTILE]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for name in HOSTILE:
            report.row("all at once", name, [together[name]], probe)
        batch = list(together.values())
        print(
            f"{'':12s}{'(the four together)':28s}{'':>10s}"
            f"{max(a.seconds for a in batch) * 1000:>12.0f}"
            f"{probe.worst_ms(min(a.start for a in batch), max(a.end for a in batch))[0]:>14.1f}"
        )
    finally:
        probe.stop()
        prober.join()
    print(
        f"load average at the end: {load_average(', ')} "
        f"(idle wait before one by one: {waited:.1f} s)"
    )
    print(f"/healthz probes that failed: {probe.failures}")
    print(
        f"slowest hostile answer {report.slowest_s:.2f} s (target {TARGET_ANSWER_S:.0f} s), "
        f"slowest /healthz meanwhile {report.worst_healthz_ms:.1f} ms "
        f"(target {TARGET_HEALTHZ_MS:.0f} ms)"
    )
    met = report.slowest_s < TARGET_ANSWER_S and report.worst_healthz_ms < TARGET_HEALTHZ_MS
    print(f"targets {verdict(met)}; verdicts {'ok' if report.ok else 'WRONG'}")
    return 0 if report.ok and not probe.failures else 1


if __name__ == "__main__":
    sys.exit(main())
