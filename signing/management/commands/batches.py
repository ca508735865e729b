"""``motcua batches``: the signing batches and what each holds."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count, Q

from dossiers.models import DocumentState
from signing.models import Batch


class Command(BaseCommand):
    # Read-only and quick: the whole-project checks (URLs, views, signing) are not loaded.
    requires_system_checks: list[str] = []
    help = "Danh sách lô ký."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--all", action="store_true", help="cả các lô đã ký xong")

    def handle(self, *args: Any, **opts: Any) -> None:
        batches = Batch.objects.select_related("office", "signer").annotate(
            total=Count("items"),
            awaiting=Count(
                "items", filter=Q(items__document__state=DocumentState.AWAITING_APPROVAL)
            ),
            signed=Count("items", filter=Q(items__signed_at__isnull=False)),
        )
        if not opts["all"]:
            batches = batches.exclude(state=Batch.State.DONE)
        rows = [
            {
                "id": b.pk,
                "office": b.office.code,
                "signer": b.signer.display_name if b.signer else None,
                "state": b.state,
                "items": b.total,
                "awaiting_approval": b.awaiting,
                "signed": b.signed,
                "created_at": b.created_at.isoformat(),
                "documents": list(b.items.values_list("document_id", flat=True)),
            }
            for b in batches.order_by("pk")
        ]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write("Không có lô ký nào đang chờ.")
        for r in rows:
            self.stdout.write(
                f"Lô #{r['id']}  {r['office']}  {r['state']}  {r['items']} tài liệu, "
                f"{r['awaiting_approval']} chờ duyệt, {r['signed']} đã ký  "
                f"người ký: {r['signer'] or '—'}"
            )
