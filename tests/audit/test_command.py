"""``motcua audit verify`` and ``export``: exit codes, the Vietnamese message, checkable lines."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.db import connection

from audit.models import Action, AuditEntry
from audit.services.record import record
from core.vntime import format_vn_datetime
from motcua.cli import main


@pytest.fixture()
def three(db: None) -> list[AuditEntry]:
    return [
        record(Action.SIGNED_IN, username="lanhdao"),
        record(Action.DOWNLOADED, username="lanhdao", sha256="c" * 64, detail={"lô": 7}),
        record(Action.SIGNED, username="lanhdao", sha256="d" * 64),
    ]


def test_verify_of_an_empty_trail_says_so(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify"]) == 0
    assert "chưa có mục nào" in capsys.readouterr().out


def test_verify_of_an_intact_trail_exits_0_with_the_last_hash(
    three: list[AuditEntry], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "nguyên vẹn: 3 mục" in out and three[-1].hash in out


def test_verify_names_the_first_broken_entry_and_exits_3(
    three: list[AuditEntry], capsys: pytest.CaptureFixture[str]
) -> None:
    """An entry edited in the database: exit 3, its seq and time (Vietnam time) in the message."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET client_address = '10.9.9.9' WHERE seq = 2")
        cursor.execute("UPDATE audit_auditentry SET username = 'ai-do' WHERE seq = 3")
    with pytest.raises(SystemExit) as info:
        main(["audit", "verify"])
    assert info.value.code == 3
    err = capsys.readouterr().err
    assert "bị phá vỡ tại mục #2 (" in err and "#3" not in err
    assert format_vn_datetime(three[1].at) in err


def test_export_lines_can_be_checked_without_motcua(
    three: list[AuditEntry], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each exported line, its hash left out, hashes to its hash; the export is itself recorded."""
    assert main(["audit", "export", "--since", "2000-01-01"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    previous = "0" * 64
    for line in lines:
        claimed = line.pop("hash")
        body = json.dumps(line, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        assert hashlib.sha256(body.encode()).hexdigest() == claimed
        assert line["prev_hash"] == previous
        previous = claimed
    exported = AuditEntry.objects.get(seq=4)
    assert exported.action == Action.EXPORTED and exported.detail["count"] == 3


def test_export_since_a_later_day_leaves_earlier_entries_out(
    three: list[AuditEntry], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "export", "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == ""
