"""Run by tests/dossiers/test_codes.py in its own process against a fresh PostgreSQL database:
many threads register dossiers at the same instant, each on its own connection, and the
codes they got are printed as JSON."""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "motcua.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from core.vntime import VN_TZ  # noqa: E402
from dossiers.models import Office, Procedure  # noqa: E402
from dossiers.services.registry import register_dossier  # noqa: E402

THREADS = int(sys.argv[1])


def main() -> None:
    call_command("migrate", verbosity=0)
    office = Office.objects.create(
        code="xa-dong-thoi", name="UBND xã Đồng Thời", agency_code="000.00.14.H56"
    )
    procedure = Procedure.objects.create(
        office=office, code="HT-KHAISINH", name="Đăng ký khai sinh", limit_working_days=3
    )
    connection.close()
    received = datetime(2025, 12, 1, 9, 30, tzinfo=VN_TZ)
    barrier = threading.Barrier(THREADS)
    codes: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def register(number: int) -> None:
        try:
            barrier.wait(timeout=60)
            registered = register_dossier(
                office=office,
                procedure=procedure,
                applicant_name=f"Người nộp {number}",
                received_at=received,
            )
            with lock:
                codes.append(registered.dossier.code)
        except Exception as exc:  # reported to the test, which fails on any
            with lock:
                errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    print(json.dumps({"codes": codes, "errors": errors, "vendor": connection.vendor}))


main()
