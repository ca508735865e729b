"""``motcua audit verify`` and ``motcua audit export``: the chain checked, or written out."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.models import Action
from audit.services.record import record
from audit.services.trail import break_message, entries_since, verify_trail
from core.errors import BAD_INPUT, EXIT_CODES
from core.vntime import VN_TZ

BROKEN_EXIT = EXIT_CODES["fail"]
"""Exit code of ``verify`` when the chain is broken (a person must look: 3)."""


def _moment(raw: str) -> dt.datetime:
    """A date (``2026-11-22``) or time (``2026-11-22T14:05``), Vietnam time when naive."""
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise CommandError(
            f"Thời điểm không hợp lệ: {raw!r} (ví dụ 2026-11-22).", returncode=BAD_INPUT
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


def _os_user() -> str:
    """The operating-system account running the command, as far as it can be told."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "?"


class Command(BaseCommand):
    # Read-only and quick: the whole-project checks (URLs, views, signing) are not loaded.
    requires_system_checks: list[str] = []
    help = "Nhật ký kiểm toán: kiểm tra chuỗi mã băm (verify) hoặc xuất các mục (export)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True, metavar="verify|export")
        sub.add_parser("verify", help="kiểm tra chuỗi; nêu mục đầu tiên bị phá vỡ")
        export = sub.add_parser("export", help="xuất các mục (JSON mỗi dòng) ra màn hình")
        export.add_argument("--since", type=_moment, help="từ thời điểm (giờ Việt Nam)")
        export.add_argument("--until", type=_moment, help="đến trước thời điểm")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["what"] == "verify":
            self._verify()
        else:
            self._export(opts["since"], opts["until"])

    def _verify(self) -> None:
        verdict = verify_trail()
        if verdict.broken is not None:
            self.stderr.write(break_message(verdict.broken))
            raise SystemExit(BROKEN_EXIT)
        if verdict.head is None or verdict.count == 0:
            self.stdout.write("Nhật ký kiểm toán chưa có mục nào.")
            return
        self.stdout.write(
            f"Chuỗi nhật ký kiểm toán nguyên vẹn: {verdict.count} mục, "
            f"mục cuối #{verdict.head.seq}, mã băm {verdict.head.hash}."
        )

    def _export(self, since: dt.datetime | None, until: dt.datetime | None) -> None:
        count = 0
        for line in entries_since(since, until):
            self.stdout.write(json.dumps(line, ensure_ascii=False, sort_keys=True))
            count += 1
        record(
            Action.EXPORTED,
            username=f"{_os_user()} (dòng lệnh)",
            detail={
                "what": "audit",
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
                "count": count,
            },
        )
