"""Command-line start-up benchmark: ``motcua --help``, ``status`` and ``sign`` against references.

Besides the back-office commands against OCRmyPDF's ``--version``, it times ``motcua sign``:
its start-up (one one-megabyte document, visible stamp, PAdES B-B) and the wall-clock rate
of one command signing ``--docs`` documents, each beside plain pyHanko doing the same in
the same run (a script that signs as pyHanko's documentation shows, invisible signatures);
both in the command's own process and served by the signing agent (``motcua sign-agent``,
which ``motcua run`` starts).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: bench.*

from bench.figures import load_average, machine_speed, verdict
from signing.devpki import make_dev_pki

MOTCUA = Path(sys.executable).with_name("motcua")
"""The command as installed beside this interpreter (``.venv/bin/motcua``)."""

TARGET_STARTUP_S = 0.3
"""Start-up of ``motcua sign`` the issue asks for (one document signed)."""

TARGET_RATE = 80.0
"""Documents per second one ``motcua sign`` of 100 one-megabyte documents must reach."""

PLAIN_PYHANKO = """
import os, sys
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter

p12, passphrase_file, out, *sources = sys.argv[1:]
with open(passphrase_file, "rb") as handle:
    passphrase = handle.read().strip()
for source in sources:
    signer = signers.SimpleSigner.load_pkcs12(pfx_file=p12, passphrase=passphrase)
    with open(source, "rb") as doc:
        writer = IncrementalPdfFileWriter(doc)
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1", md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
        )
        target = out if len(sources) == 1 else os.path.join(out, os.path.basename(source))
        with open(target, "wb") as handle:
            signers.sign_pdf(writer, meta, signer=signer, output=handle)
"""
"""Plain pyHanko, the reference: the PKCS#12 file opened for each document, as documented."""


def _median_s(
    argv: Sequence[str], runs: int, env: dict[str, str], fresh: Path | None = None
) -> float:
    """Median wall-clock seconds of ``runs`` runs of ``argv`` (after one warm-up run).

    ``fresh``, when given, is a folder emptied before each run (a command's outputs), and
    the command must succeed there.
    """
    times = []
    for n in range(runs + 1):
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
            fresh.mkdir(parents=True)
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if fresh is not None and done.returncode != 0:
            raise SystemExit(f"{argv[0]} failed: {done.stderr.decode(errors='replace')[-500:]}")
        if n:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    """Print the start-up of each command, side by side with the references of the same run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--docs", type=int, default=100, help="documents of one sign (100)")
    parser.add_argument("--batch-runs", type=int, default=3, help="runs of that sign (3)")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of motcua sign (2)")
    parser.add_argument("--skip-sign", action="store_true", help="time the other commands only")
    args = parser.parse_args()
    print(f"load average at the start: {load_average()}; machine speed: {machine_speed()}")
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "MOTCUA_DATA_DIR": data_dir}
        subprocess.run([str(MOTCUA), "setup"], env=env, check=True, capture_output=True)
        rows = [
            ("python -c pass (interpreter alone)", [sys.executable, "-c", "pass"]),
            ("motcua --help", [str(MOTCUA), "--help"]),
            ("motcua status <code> (Django, one query)", [str(MOTCUA), "status", "HS-KHONG-CO"]),
            ("motcua batches", [str(MOTCUA), "batches"]),
        ]
        ocrmypdf = shutil.which("ocrmypdf")
        if ocrmypdf:
            rows.append(("reference: ocrmypdf --version", [ocrmypdf, "--version"]))
        figures = [(label, _median_s(argv, args.runs, env)) for label, argv in rows]
        signing = [] if args.skip_sign else _signing(args, Path(data_dir), env)
    reference = dict(figures).get("reference: ocrmypdf --version")
    print(f"start-up, median of {args.runs} runs (s); target: --help and status under 0.3 s")
    for label, seconds in figures:
        ratio = f"  {seconds / reference:.2f} × ocrmypdf" if reference else ""
        print(f"  {label:45s} {seconds:6.3f}{ratio}")
    if not ocrmypdf:
        print("  (ocrmypdf not installed: ./bootstrap bench installs it for the reference)")
    for line in signing:
        print(line)
    print(f"load average at the end: {load_average()}")
    return 0


def _signing(args: argparse.Namespace, scratch: Path, env: dict[str, str]) -> list[str]:
    """Time ``motcua sign`` of one and of ``--docs`` documents, and plain pyHanko beside it."""
    from bench.sign_bench import make_inputs

    passphrase = secrets.token_urlsafe(24).encode()
    pki = make_dev_pki(
        scratch / "pki", signer_name="Nguyễn Văn Thử", organisation="UBND xã Thử Nghiệm",
        passphrase=passphrase,
    )  # fmt: skip
    secret = scratch / "mat-khau.txt"
    secret.write_bytes(passphrase + b"\n")
    secret.chmod(0o600)
    sources = make_inputs(scratch / "in", max(1, args.docs), 1_000_000)
    out = scratch / "out"
    key = ["--pkcs12", str(pki.pkcs12), "--passphrase-file", str(secret)]
    sign = [str(MOTCUA), "sign"]
    plain = [sys.executable, "-c", PLAIN_PYHANKO, str(pki.pkcs12), str(secret)]
    one = str(sources[0])
    many = [str(path) for path in sources]
    count = len(many)

    def timed(label: str) -> list[str]:
        startup = _median_s([*sign, one, "-o", str(out / "1.pdf"), *key], args.runs, env, out)
        batch = _median_s(
            [*sign, *many, "-o", str(out), "--jobs", str(args.jobs), *key],
            args.batch_runs,
            env,
            out,
        )
        rate = count / batch
        return [
            f"  {f'start-up: motcua sign, 1 document, {label}':58s} {startup:6.3f}"
            f"  {verdict(startup <= TARGET_STARTUP_S)} (target ≤ {TARGET_STARTUP_S} s)"
            f"  (÷ plain {startup / plain_startup:.2f})",
            f"  {f'motcua sign, {count} documents, --jobs {args.jobs}, {label}':58s} {batch:6.3f}"
            f"  {rate:6.1f} docs/s  {verdict(rate >= TARGET_RATE)} (target ≥ {TARGET_RATE:.0f}/s)"
            f"  (÷ plain {rate / plain_rate:.1f})",
        ]

    plain_startup = _median_s([*plain, str(out / "1.pdf"), one], args.runs, env, out)
    plain_batch = _median_s([*plain, str(out), *many], 1, env, out)
    plain_rate = count / plain_batch
    lines = [
        f"motcua sign, PAdES B-B, RSA-2048, 1 MB documents (s, median of {args.runs} runs for one"
        f" document, of {args.batch_runs} for {count}); plain pyHanko: invisible signature,"
        " PKCS#12 opened per document, one process",
        f"  {'reference: plain pyHanko, 1 document':58s} {plain_startup:6.3f}",
        f"  {f'reference: plain pyHanko, {count} documents (1 run)':58s} {plain_batch:6.3f}"
        f"  {plain_rate:6.1f} docs/s",
        *timed("in its own process"),
    ]
    with _signing_agent(env, scratch):
        lines += timed("signing agent")
    return lines


@contextlib.contextmanager
def _signing_agent(env: dict[str, str], data_dir: Path) -> Iterator[None]:
    """``motcua sign-agent`` of the scratch data directory, running until the block ends."""
    from signing.agent.client import answers, socket_path

    agent = subprocess.Popen(
        [str(MOTCUA), "sign-agent"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    path = socket_path(data_dir)
    try:
        deadline = time.monotonic() + 60
        while not answers(path):
            if agent.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("motcua sign-agent did not start")
            time.sleep(0.1)
        yield
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
