"""Scanner intake benchmark: a burst of dossier folders, a 200-page batch, the idle watcher.

1. **Burst**: ``--folders`` (1,000) small dossier folders (one 2 KB page each) appear in
   ``inbox/<office>/`` at once; the real watcher loop (``watch_folders.services.watcher``,
   inotify) claims them. Printed: seconds from the drop until the last is claimed, and
   folders per second (settle time ``--settle`` included once).
2. **Split**: a ``--pages`` (200) page batch PDF scanned at 200 dpi (a receipt every tenth
   page, rendered by ``dossiers.receipt`` and rasterised by pdftoppm) split by
   ``digitize.batch_split.split_batch``: pages per second, QR reading included.
3. **Idle**: the watcher in a process of its own over the inbox left by step 1, once
   with inotify and once polling: its CPU (user + system) over ``--idle-s`` seconds.

Tasks the watcher would send are recorded, not sent: no broker or worker runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _django(data: Path, settle: float) -> None:
    os.environ["MOTCUA_DATA_DIR"] = str(data)
    os.environ["MOTCUA_SETTLE_SECONDS"] = str(settle)
    os.environ["MOTCUA_WATCH_RESCAN_S"] = "0.5"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "motcua.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def burst(work: Path, count: int, settle: float) -> float:
    """Seconds for the watcher to claim ``count`` folders dropped at once."""
    from django.db import transaction

    from core import queue
    from dossiers.models import Office, Procedure
    from dossiers.services.registry import register_dossier
    from watch_folders.services.watcher import run

    office = Office.objects.create(code="xa-bench", name="UBND xã Đo Đạc")
    procedure = Procedure.objects.create(
        office=office, code="TT", name="Thủ tục", limit_working_days=5
    )
    codes = [f"HS-{n:05d}" for n in range(count)]
    with transaction.atomic():
        for code in codes:
            register_dossier(code=code, office=office, procedure=procedure, applicant_name="A")
    staging = work / "staging"
    for code in codes:
        (staging / code).mkdir(parents=True)
        (staging / code / "trang-1.jpg").write_bytes(os.urandom(2048))
    inbox = work / "data" / "inbox" / office.code
    inbox.mkdir(parents=True, exist_ok=True)
    sent: list[int] = []
    queue.wire(lambda name, ids: sent.extend(ids))
    stop = threading.Event()
    took: list[float] = []

    def clerk() -> None:
        time.sleep(1.0)  # the watcher is up
        start = time.perf_counter()
        for code in codes:
            (staging / code).rename(inbox / code)
        while len(sent) < count:
            time.sleep(0.01)
        took.append(time.perf_counter() - start)
        stop.set()

    threading.Thread(target=clerk, daemon=True).start()
    run(stop)
    return took[0]


def split(work: Path, pages: int) -> float:
    """Pages per second splitting a ``pages``-page batch PDF at 200 dpi."""
    from digitize.batch_split import split_batch
    from tests.watch_folders.stacks import (
        content_page,
        receipt_page,
        write_stack_pdf,
    )
    from watch_folders.services.batches import classify

    receipt = [receipt_page(f"HS-{n:05d}") for n in range(pages // 10)]
    plain = content_page("trang mẫu")
    stack = [receipt[n // 10] if n % 10 == 0 else plain for n in range(pages)]
    path = work / "lo.pdf"
    write_stack_pdf(path, stack)
    start = time.perf_counter()
    result = split_batch(path, work / "tach", classify)
    seconds = time.perf_counter() - start
    assert len(result.parts) == pages // 10, result.parts
    return pages / seconds


def idle_cpu(data: Path, seconds: float, polling: bool) -> float:
    """The watcher process's CPU use, in percent of one core, while nothing arrives."""
    env = {**os.environ, "MOTCUA_DATA_DIR": str(data), "MOTCUA_WATCH_POLLING": str(int(polling))}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.watch_folders.watcher_process", "watch"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(5)  # start-up and the first full scan are not idle

        def cpu() -> float:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        before, start = cpu(), time.monotonic()
        time.sleep(seconds)
        return 100 * (cpu() - before) / (time.monotonic() - start)
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    """Run the three measurements and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--idle-s", type=float, default=30.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    try:
        _django(work / "data", args.settle)
        seconds = burst(work, args.folders, args.settle)
        print(
            f"burst: {args.folders} folders claimed in {seconds:.1f} s "
            f"({args.folders / seconds:.0f} folders/s, settle {args.settle:g} s included)"
        )
        rate = split(work, args.pages)
        print(f"split: {args.pages}-page batch PDF at 200 dpi, {rate:.1f} pages/s")
        for polling in (False, True):
            percent = idle_cpu(work / "data", args.idle_s, polling)
            mode = "polling" if polling else "inotify"
            print(
                f"idle: watcher CPU {percent:.2f} % of a core over {args.idle_s:g} s "
                f"({mode}, {args.folders} claimed folders in the archive)"
            )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
