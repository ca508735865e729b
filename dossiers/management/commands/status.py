"""``motcua status DOSSIER_CODE``: where a dossier and its documents stand."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import BAD_INPUT
from core.vntime import VN_TZ
from dossiers.calendar import TIMELINESS_LABELS_VI
from dossiers.models import Dossier


class Command(BaseCommand):
    # Read-only and quick: the whole-project checks (URLs, views, signing) are not loaded.
    requires_system_checks: list[str] = []
    help = "Trạng thái hồ sơ và các tài liệu của nó."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        dossier = (
            Dossier.objects.select_related("office", "procedure").filter(code=opts["code"]).first()
        )
        if dossier is None:
            raise CommandError(f"Không có hồ sơ mã {opts['code']}.", returncode=BAD_INPUT)
        documents = [
            {
                "id": d.pk,
                "state": d.state,
                "pages": d.page_count,
                "confidence": d.mean_confidence,
                "pdf": d.pdf_path,
                "signed": d.signed_path,
                "reason": d.reason,
            }
            for d in dossier.documents.order_by("pk")
        ]
        report = {
            "code": dossier.code,
            "office": dossier.office.code,
            "procedure": dossier.procedure.code,
            "status": dossier.status,
            "received_at": dossier.received_at.isoformat(),
            "due_at": dossier.due_at.isoformat(),
            "resolved_at": dossier.resolved_at.isoformat() if dossier.resolved_at else None,
            "timeliness": dossier.timeliness,
            "documents": documents,
        }
        if opts["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"Hồ sơ {dossier.code} — {dossier.procedure.name}")
        self.stdout.write(f"  Trạng thái: {dossier.get_status_display()}")
        self.stdout.write(f"  Hẹn trả:    {dossier.due_at.astimezone(VN_TZ):%H:%M %d/%m/%Y}")
        if dossier.resolved_at:
            label = TIMELINESS_LABELS_VI[dossier.timeliness or "on_time"]
            self.stdout.write(
                f"  Có kết quả: {dossier.resolved_at.astimezone(VN_TZ):%H:%M %d/%m/%Y} ({label})"
            )
        for d in dossier.documents.order_by("pk"):
            line = f"  Tài liệu #{d.pk}: {d.get_state_display()} ({d.page_count} trang)"
            if d.reason:
                line += f" — {d.reason}"
            self.stdout.write(line)
