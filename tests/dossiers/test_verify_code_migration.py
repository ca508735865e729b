"""The verification code's migration: every existing document gets a code of its own."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from dossiers.models import Document

BEFORE = ("dossiers", "0004_procedure_stamp_place")


@pytest.mark.django_db(transaction=True)
def test_existing_documents_get_unique_codes() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    executor.loader.build_graph()
    apps = executor.loader.project_state([BEFORE]).apps
    office = apps.get_model("dossiers", "Office").objects.create(code="xa", name="UBND xã")
    procedure = apps.get_model("dossiers", "Procedure").objects.create(
        office=office, code="P", name="Thủ tục", limit_working_days=3
    )
    now = timezone.now()
    dossier = apps.get_model("dossiers", "Dossier").objects.create(
        code="HS-1",
        office=office,
        procedure=procedure,
        applicant_name="Trần Thị Bình",
        received_at=now,
        due_at=now,
    )
    Old = apps.get_model("dossiers", "Document")
    for _ in range(3):
        Old.objects.create(dossier=dossier, state="SIGNED", source_sha256="0")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    codes = list(Document.objects.values_list("verify_code", flat=True))
    assert len(codes) == len(set(codes)) == 3
    assert all(re.fullmatch(r"[A-Z2-7]{16}", code) for code in codes)
