"""``motcua manage separator``: print the separator sheet that splits a scanned stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import BAD_INPUT
from core.files import write_atomically
from dossiers.models import Office
from dossiers.receipt import render_separator


class Command(BaseCommand):
    help = (
        "Ghi tờ phân cách hồ sơ (PDF, A4) để đặt giữa các hồ sơ khi quét cả chồng; mã QR của "
        "tờ nghĩa là “hồ sơ tiếp theo”, có thể kèm mã hồ sơ."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", type=Path, help="tệp PDF sẽ ghi")
        parser.add_argument("--code", default="", help="mã hồ sơ in trên tờ (không bắt buộc)")
        parser.add_argument("--office", default="", help="mã cơ quan in ở đầu tờ")

    def handle(self, *args: Any, **opts: Any) -> None:
        office_name = ""
        if opts["office"]:
            office = Office.objects.filter(code=opts["office"]).first()
            if office is None:
                raise CommandError(f"Không có cơ quan mã '{opts['office']}'.", returncode=BAD_INPUT)
            office_name = office.name
        output: Path = opts["output"]
        write_atomically(output, render_separator(opts["code"], office_name))
        self.stdout.write(f"Đã ghi tờ phân cách vào {output}")
