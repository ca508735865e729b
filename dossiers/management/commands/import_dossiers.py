"""``motcua import-dossiers FILE.csv``: register dossiers and write their receipts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import BAD_INPUT, exit_code
from core.files import write_atomically
from core.vntime import VN_TZ
from dossiers.errors import RegistrationError
from dossiers.services.registry import CSV_COLUMNS, import_rows, read_csv, receipt_pdf


class Command(BaseCommand):
    help = (
        "Tiếp nhận hồ sơ từ tệp CSV (cột: " + ",".join(CSV_COLUMNS) + ") và in giấy hẹn "
        "có mã tra cứu vào thư mục --receipts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv", type=Path)
        parser.add_argument(
            "--receipts",
            type=Path,
            default=Path("receipts"),
            help="thư mục ghi giấy hẹn PDF (mặc định ./receipts); giấy hẹn chứa mã tra cứu",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="in kết quả dạng JSON, gồm cả mã tra cứu, cho hệ thống khác đọc",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["csv"]
        if not path.is_file():
            raise CommandError(f"Không thấy tệp {path}.", returncode=BAD_INPUT)
        receipts: Path = opts["receipts"]
        receipts.mkdir(parents=True, exist_ok=True)
        results: list[dict[str, Any]] = []
        failed = 0
        try:
            for outcome in import_rows(read_csv(path), actor="import-dossiers"):
                if outcome.registered is None:
                    failed += 1
                    results.append(
                        {
                            "line": outcome.line,
                            "code": outcome.code,
                            "ok": False,
                            "error": outcome.error_vi,
                        }
                    )
                    if not opts["json"]:
                        self.stderr.write(
                            f"✗ dòng {outcome.line} ({outcome.code}): {outcome.error_vi}"
                        )
                    continue
                dossier = outcome.registered.dossier
                receipt = receipts / f"giay-hen-{dossier.code}.pdf"
                # the receipt carries the lookup secret: readable by its owner alone
                write_atomically(receipt, receipt_pdf(outcome.registered), mode=0o600)
                due = dossier.due_at.astimezone(VN_TZ)
                results.append(
                    {
                        "line": outcome.line,
                        "code": dossier.code,
                        "ok": True,
                        "due_at": dossier.due_at.isoformat(),
                        "receipt": str(receipt),
                        "secret": outcome.registered.secret,
                    }
                )
                if not opts["json"]:
                    self.stdout.write(
                        f"✓ {dossier.code}  hẹn trả {due:%H:%M %d/%m/%Y}  → {receipt}"
                    )
        except RegistrationError as exc:
            raise CommandError(exc.message_vi, returncode=exit_code(exc)) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(results, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"Đã tiếp nhận {len(results) - failed}, lỗi {failed}.")
        if failed:
            raise CommandError(f"{failed} dòng không tiếp nhận được.", returncode=BAD_INPUT)
