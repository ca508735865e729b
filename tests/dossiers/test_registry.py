"""Tests of dossier registration: due dates, lookup secrets and the CSV import."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.apps import apps

from core.vntime import VN_TZ
from dossiers.errors import RegistrationError
from dossiers.models import CalendarDay, Dossier, Event, Office, Procedure, hash_secret
from dossiers.services.registry import (
    CSV_COLUMNS,
    import_rows,
    new_secret,
    normalise_secret,
    read_csv,
    register_dossier,
)
from tests.conftest import MakeDossier

MONDAY_9AM = datetime(2026, 3, 9, 9, 0, tzinfo=VN_TZ)
"""A Monday of an ordinary week (no public holiday near it)."""

SECRET_ALPHABET = set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")


def test_due_date_counts_the_procedures_working_days(make_dossier: MakeDossier) -> None:
    """Three working days from a Monday morning fall due on Thursday at 17:00 Vietnam time."""
    dossier = make_dossier(received_at=MONDAY_9AM).dossier
    assert dossier.due_at == datetime(2026, 3, 12, 17, 0, tzinfo=VN_TZ)
    assert dossier.received_at == MONDAY_9AM
    assert dossier.status == Dossier.Status.RECEIVED
    event = Event.objects.get(dossier=dossier)
    assert event.kind == "registered"
    assert event.detail["due_at"] == dossier.due_at.isoformat()


def test_due_date_skips_holidays_the_administrator_added(make_dossier: MakeDossier) -> None:
    """A day off configured in CalendarDay pushes the due date one working day later."""
    CalendarDay.objects.create(day=date(2026, 3, 11), note="Nghỉ bù")
    dossier = make_dossier(received_at=MONDAY_9AM).dossier
    assert dossier.due_at == datetime(2026, 3, 13, 17, 0, tzinfo=VN_TZ)


def test_naive_receipt_time_is_read_as_vietnam_time(make_dossier: MakeDossier) -> None:
    """A receipt time without a zone means the clock on the office wall."""
    dossier = make_dossier(received_at=datetime(2026, 3, 9, 9, 0)).dossier
    assert dossier.received_at == datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


def test_secret_has_at_least_128_bits() -> None:
    """A lookup secret is 32 characters of a 32-letter alphabet: 160 random bits."""
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert set(secret) <= SECRET_ALPHABET
        assert len(secret) * math.log2(len(SECRET_ALPHABET)) >= 128


def test_only_the_secrets_hash_is_stored(make_dossier: MakeDossier) -> None:
    """The clear secret is in no column of any table, only its SHA-256 is kept."""
    registered = make_dossier()
    dossier, secret = registered.dossier, registered.secret
    assert dossier.secret_hash == hash_secret(secret)
    for field in Dossier._meta.concrete_fields:
        assert secret not in str(field.value_from_object(dossier)), field.name
    events = list(Event.objects.filter(dossier=dossier))
    assert events
    for event in events:
        for field in Event._meta.concrete_fields:
            assert secret not in str(field.value_from_object(event)), field.name
    for model in apps.get_models():
        for row in model._default_manager.values_list():
            assert secret not in repr(row), model.__name__


def test_check_secret_accepts_the_printed_form_after_normalising(
    make_dossier: MakeDossier,
) -> None:
    """The secret typed grouped, in lower case, with spaces or dashes still matches."""
    registered = make_dossier()
    dossier, secret = registered.dossier, registered.secret
    grouped = " - ".join(secret[i : i + 4] for i in range(0, len(secret), 4)).lower()
    assert normalise_secret(grouped) == secret
    assert dossier.check_secret(normalise_secret(grouped))
    assert dossier.check_secret(secret)
    wrong = ("A" if secret[0] != "A" else "B") + secret[1:]
    assert not dossier.check_secret(wrong)
    assert not dossier.check_secret("")


def test_dossier_without_a_hash_matches_no_secret(dossier: Dossier) -> None:
    """A dossier whose hash is empty never accepts a secret, not even an empty one."""
    dossier.secret_hash = ""
    assert not dossier.check_secret("")
    assert not dossier.check_secret(hash_secret(""))


def test_each_registration_gets_its_own_secret(make_dossier: MakeDossier) -> None:
    """Two dossiers never share a secret, and one's secret does not open the other."""
    first, second = make_dossier(), make_dossier()
    assert first.secret != second.secret
    assert not second.dossier.check_secret(first.secret)


def test_duplicate_code_is_refused_in_vietnamese(
    office: Office, procedure: Procedure, make_dossier: MakeDossier
) -> None:
    """Registering an existing code raises RegistrationError and leaves one dossier."""
    make_dossier("HS-0001")
    with pytest.raises(RegistrationError) as info:
        make_dossier("HS-0001")
    assert info.value.message_vi == "Mã hồ sơ HS-0001 đã tồn tại."
    assert Dossier.objects.filter(code="HS-0001").count() == 1


def test_procedure_of_another_office_is_refused(
    office: Office, other_office: Office, procedure: Procedure
) -> None:
    """A procedure must belong to the office the dossier is registered at."""
    with pytest.raises(RegistrationError, match="không thuộc cơ quan xa-khac"):
        register_dossier(
            code="HS-1", office=other_office, procedure=procedure, applicant_name="Lê Văn C"
        )


@pytest.mark.parametrize("code", ["12/HS-UBND", "HS\\1", "..", "HS\t1"])
def test_code_that_cannot_name_the_scans_folder_is_refused(
    office: Office, procedure: Procedure, code: str
) -> None:
    """Scans arrive in a folder named after the code, so the code must be a valid folder name."""
    with pytest.raises(RegistrationError, match="không dùng được làm tên thư mục"):
        register_dossier(code=code, office=office, procedure=procedure, applicant_name="Lê Văn C")
    assert not Dossier.objects.exists()


def test_blank_code_is_refused(office: Office, procedure: Procedure) -> None:
    """A dossier needs a code."""
    with pytest.raises(RegistrationError, match="Thiếu mã hồ sơ"):
        register_dossier(code="  ", office=office, procedure=procedure, applicant_name="Lê Văn C")


def _row(code: str, **overrides: str) -> dict[str, str]:
    row = {
        "code": code,
        "office": "xa-thu",
        "procedure": "HT-KHAISINH",
        "applicant_name": "Phạm Thị Dung",
        "email": "dung@example.vn",
        "phone": "0912345678",
        "received_at": "2026-03-09 09:00",
    }
    row.update(overrides)
    return row


def test_import_reports_bad_rows_and_carries_on(procedure: Procedure) -> None:
    """Every bad row gets a Vietnamese error with its line; the good rows are registered."""
    rows = [
        _row("HS-A"),
        _row("HS-B", office="xa-khong-co"),
        _row("HS-C", procedure="KHONG-CO"),
        _row("HS-D", applicant_name="  "),
        _row("HS-E", received_at="hôm qua"),
        _row("HS-A"),
        _row("HS-F", received_at="2026-02-30 09:15"),
        _row("HS-G", received_at="10/03/2026 14:30"),
    ]
    outcomes = list(import_rows(rows, actor="import"))
    assert [o.line for o in outcomes] == list(range(2, 10))
    ok = {o.code for o in outcomes if o.registered is not None}
    assert ok == {"HS-A", "HS-G"}
    errors = {o.line: o.error_vi for o in outcomes if o.registered is None}
    assert "Không có cơ quan mã 'xa-khong-co'" in errors[3]
    assert "không có thủ tục mã 'KHONG-CO'" in errors[4]
    assert "Thiếu tên người nộp" in errors[5]
    assert "không đúng định dạng" in errors[6]
    assert "đã tồn tại" in errors[7]
    assert "2026-02-30 09:15" in errors[8]
    assert Dossier.objects.get(code="HS-G").received_at == datetime(
        2026, 3, 10, 14, 30, tzinfo=VN_TZ
    )
    assert Event.objects.filter(dossier__code="HS-A", actor="import").exists()


def test_read_csv_checks_the_header(tmp_path: Path) -> None:
    """A CSV missing a column is refused before any row, naming the missing columns."""
    path = tmp_path / "thieu-cot.csv"
    path.write_text("code,office,procedure,applicant_name,email\nHS-1,xa,TT,An,a@b.vn\n")
    with pytest.raises(RegistrationError) as info:
        list(read_csv(path))
    assert "Tệp CSV thiếu cột: phone, received_at" in info.value.message_vi


def test_read_csv_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    """A CSV saved by a spreadsheet with a UTF-8 BOM reads the same."""
    path = tmp_path / "excel.csv"
    path.write_text(
        ",".join(CSV_COLUMNS) + "\nHS-1,xa-thu,HT-KHAISINH,Đỗ Minh Đức,,,\n", encoding="utf-8-sig"
    )
    rows = list(read_csv(path))
    assert rows == [
        {
            "code": "HS-1",
            "office": "xa-thu",
            "procedure": "HT-KHAISINH",
            "applicant_name": "Đỗ Minh Đức",
            "email": "",
            "phone": "",
            "received_at": "",
        }
    ]
