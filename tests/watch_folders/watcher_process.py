"""The real watcher in a process of its own, for the crash test (and the benchmark).

``python -m tests.watch_folders.watcher_process setup SCANNER CODE…`` migrates a fresh
data folder (``MOTCUA_DATA_DIR``), registers the dossiers and a scanner-batch folder;
``watch`` runs :func:`watch_folders.services.watcher.run` with the task queue recording
what it would send into ``<data>/sent.txt``; ``report`` prints the rows as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path


def _setup(scanner: str, codes: list[str]) -> None:
    from django.core.management import call_command

    from dossiers.models import Office, Procedure
    from dossiers.services.registry import register_dossier
    from watch_folders.layouts import SCANNER_BATCHES
    from watch_folders.models import WatchedFolder

    call_command("migrate", verbosity=0)
    office = Office.objects.create(code="xa-thu", name="UBND xã Thử Nghiệm")
    procedure = Procedure.objects.create(
        office=office, code="HT-KHAISINH", name="Đăng ký khai sinh", limit_working_days=3
    )
    for code in codes:
        register_dossier(code=code, office=office, procedure=procedure, applicant_name="Bình")
    WatchedFolder.objects.create(office=office, path=scanner, layout=SCANNER_BATCHES)


def _watch() -> None:
    from django.conf import settings

    from core import queue
    from watch_folders.services.watcher import run

    sent = Path(settings.DATA_DIR) / "sent.txt"
    lock = threading.Lock()

    def record(name: str, ids: tuple[int, ...]) -> None:
        with lock, sent.open("a", encoding="utf-8") as handle:
            handle.write(f"{name} {' '.join(map(str, ids))}\n")

    queue.wire(record)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    run(stop)


def _report() -> None:
    from dossiers.models import Document
    from watch_folders.models import Intake

    documents = [
        {"pk": d.pk, "code": d.dossier.code, "source_dir": d.source_dir}
        for d in Document.objects.select_related("dossier").order_by("pk")
    ]
    intakes = list(Intake.objects.values("outcome", "folder_name", "pages", "path", "reason"))
    print(json.dumps({"documents": documents, "intakes": intakes}, ensure_ascii=False))


def main() -> None:
    """Run one of the commands named in the module's docstring."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "motcua.settings")
    import django

    django.setup()
    command, *args = sys.argv[1:]
    if command == "setup":
        _setup(args[0], args[1:])
    elif command == "watch":
        _watch()
    elif command == "report":
        _report()
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
