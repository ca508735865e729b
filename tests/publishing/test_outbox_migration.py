"""The outbox's migration: each row of one per (document, channel) gets its recipient."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from publishing.models import OutboxMessage

BEFORE = ("publishing", "0001_initial")


def _migrate(publishing_to: tuple[str, str] | None) -> MigrationExecutor:
    """Every app at its latest migration, publishing at ``publishing_to`` (None: latest)."""
    executor = MigrationExecutor(connection)
    leaves = [
        (app, name) for app, name in executor.loader.graph.leaf_nodes() if app != "publishing"
    ]
    latest = [n for n in executor.loader.graph.leaf_nodes() if n[0] == "publishing"]
    targets = [*leaves, *([publishing_to] if publishing_to else latest)]
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_existing_rows_get_their_recipient_from_the_dossier() -> None:
    executor = _migrate(BEFORE)
    leaves = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "publishing"]
    apps = executor.loader.project_state([*leaves, BEFORE]).apps
    office = apps.get_model("dossiers", "Office").objects.create(code="xa", name="UBND xã")
    procedure = apps.get_model("dossiers", "Procedure").objects.create(
        office=office, code="P", name="Thủ tục", limit_working_days=3
    )
    Dossier = apps.get_model("dossiers", "Dossier")
    Document = apps.get_model("dossiers", "Document")
    Old = apps.get_model("publishing", "OutboxMessage")
    now = timezone.now()

    def document(email: str, phone: str) -> object:
        dossier = Dossier.objects.create(
            code=f"HS-{email or phone or 'none'}",
            office=office,
            procedure=procedure,
            applicant_name="Trần Thị Bình",
            email=email,
            phone=phone,
            received_at=now,
            due_at=now,
        )
        return Document.objects.create(dossier=dossier, state="PUBLISHED", source_sha256="0")

    both = document("binh@example.vn", "0912345678")
    Old.objects.create(document=both, channel="email", state="sent", attempts=1)
    Old.objects.create(document=both, channel="sms", state="pending", last_error="x" * 300)
    gone = document("", "")  # the dossier lost its address since
    Old.objects.create(document=gone, channel="email", state="pending")

    _migrate(None)

    rows = {(r.document_id, r.channel): r for r in OutboxMessage.objects.all()}
    email, sms = rows[(both.pk, "email")], rows[(both.pk, "sms")]  # type: ignore[attr-defined]
    assert (email.recipient, email.state, email.attempts) == ("binh@example.vn", "sent", 1)
    assert (sms.recipient, sms.state, len(sms.last_error)) == ("0912345678", "pending", 200)
    orphan = rows[(gone.pk, "email")]  # type: ignore[attr-defined]
    assert (orphan.recipient, orphan.state) == ("", "failed")
    assert orphan.last_error == "Hồ sơ không còn địa chỉ người nhận"
