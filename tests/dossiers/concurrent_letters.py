"""Run by tests/dossiers/test_letter_numbers.py in its own process against a fresh PostgreSQL
database: many heads approve letters of the same form and office at the same instant, each
on its own connection; then as many transactions take a number of another form at once and
hold it a moment before committing. The numbers are printed as JSON."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "motcua.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from core.vntime import VN_TZ  # noqa: E402
from dossiers.models import Letter, LetterForm, Office, Procedure  # noqa: E402
from dossiers.services.letter_numbers import next_letter_number  # noqa: E402
from dossiers.services.letters import approve_letter, draft_letter  # noqa: E402
from dossiers.services.registry import register_dossier  # noqa: E402

THREADS = int(sys.argv[1])


def main() -> None:
    call_command("migrate", verbosity=0)
    office = Office.objects.create(code="xa-dong-thoi", name="UBND xã Đồng Thời")
    procedure = Procedure.objects.create(
        office=office, code="HT-KHAISINH", name="Đăng ký khai sinh", limit_working_days=3
    )
    received = datetime(2026, 3, 2, 9, 30, tzinfo=VN_TZ)
    letters = [
        draft_letter(
            register_dossier(
                code=f"HS-DONG-THOI-{n:04d}",
                office=office,
                procedure=procedure,
                applicant_name=f"Người nộp {n}",
                received_at=received,
            ).dossier,
            LetterForm.REFUSAL,
            reason="Không thuộc thẩm quyền giải quyết",
        )
        for n in range(THREADS)
    ]
    connection.close()
    errors: list[str] = []
    taken: list[str] = []
    lock = threading.Lock()

    def approve(letter: Letter, barrier: threading.Barrier) -> None:
        try:
            barrier.wait(timeout=60)
            approve_letter(letter, signer_title="Chủ tịch", signer_name="Nguyễn Văn An")
        except Exception as exc:  # reported to the test, which fails on any
            with lock:
                errors.append(repr(exc))
        finally:
            connection.close()

    def take(barrier: threading.Barrier) -> None:
        try:
            barrier.wait(timeout=60)
            with transaction.atomic():
                number = next_letter_number(office.pk, LetterForm.STOP, received)
                time.sleep(0.05)  # the others' turn comes while this one still holds it
            with lock:
                taken.append(number)
        except Exception as exc:  # reported to the test, which fails on any
            with lock:
                errors.append(repr(exc))
        finally:
            connection.close()

    for target, each in ((approve, letters), (take, [None] * THREADS)):
        barrier = threading.Barrier(THREADS)
        threads = [
            threading.Thread(target=target, args=(item, barrier) if item else (barrier,))
            for item in each
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    numbers = list(Letter.objects.values_list("number", flat=True))
    print(
        json.dumps(
            {"numbers": numbers, "taken": taken, "errors": errors, "vendor": connection.vendor}
        )
    )


main()
