"""Command-line start-up benchmark: ``motcua --help`` and ``motcua status`` against OCRmyPDF's."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

MOTCUA = Path(sys.executable).with_name("motcua")
"""The command as installed beside this interpreter (``.venv/bin/motcua``)."""


def _median_s(argv: Sequence[str], runs: int, env: dict[str, str]) -> float:
    """Median wall-clock seconds of ``runs`` runs of ``argv`` (after one warm-up run)."""
    times = []
    for n in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if n:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    """Print the start-up of each command, side by side with the references of the same run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
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
    reference = dict(figures).get("reference: ocrmypdf --version")
    print(f"start-up, median of {args.runs} runs (s); target: --help and status under 0.3 s")
    for label, seconds in figures:
        ratio = f"  {seconds / reference:.2f} × ocrmypdf" if reference else ""
        print(f"  {label:45s} {seconds:6.3f}{ratio}")
    if not ocrmypdf:
        print("  (ocrmypdf not installed: ./bootstrap bench installs it for the reference)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
