"""Dossier codes in the national pattern: agency, yymmdd, a daily sequence per agency."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from core.vntime import VN_TZ
from dossiers.errors import RegistrationError
from dossiers.models import Dossier, DossierSequence, Event, Office, Procedure
from dossiers.services.registry import import_rows, register_dossier
from tests.dossiers.conftest import run_race

AGENCY = "000.00.14.H56"
MORNING = datetime(2025, 12, 1, 9, 0, tzinfo=VN_TZ)


@pytest.fixture()
def agency_office(office: Office) -> Office:
    office.agency_code = AGENCY
    office.save()
    return office


def _register(office: Office, procedure: Procedure, when: datetime, code: str | None = None) -> str:
    registered = register_dossier(
        code=code, office=office, procedure=procedure, applicant_name="Hồ Văn Nam", received_at=when
    )
    return registered.dossier.code


def test_generated_codes_follow_the_national_pattern_and_count_up(
    agency_office: Office, procedure: Procedure
) -> None:
    """No code given: agency, the receipt date as yymmdd, and the day's number in four digits."""
    codes = [_register(agency_office, procedure, MORNING) for _ in range(3)]
    assert codes == [f"{AGENCY}-251201-0001", f"{AGENCY}-251201-0002", f"{AGENCY}-251201-0003"]
    event = Event.objects.get(dossier__code=codes[0], kind="registered")
    assert event.detail["code_generated"] is True


def test_the_sequence_restarts_each_day_in_vietnam_time(
    agency_office: Office, procedure: Procedure
) -> None:
    """A new day starts at 0001; the day is the office's (18:00 UTC is 01:00 the next day there)."""
    assert _register(agency_office, procedure, MORNING) == f"{AGENCY}-251201-0001"
    evening = datetime(2025, 12, 1, 23, 50, tzinfo=VN_TZ)
    assert _register(agency_office, procedure, evening) == f"{AGENCY}-251201-0002"
    next_day = datetime(2025, 12, 2, 0, 10, tzinfo=VN_TZ)
    assert _register(agency_office, procedure, next_day) == f"{AGENCY}-251202-0001"
    utc_evening = datetime.fromisoformat("2025-12-02T18:00:00+00:00")
    assert _register(agency_office, procedure, utc_evening) == f"{AGENCY}-251203-0001"


def test_each_agency_has_its_own_sequence(
    agency_office: Office, other_office: Office, procedure: Procedure
) -> None:
    """Two agencies registering the same day both start at 0001."""
    other_office.agency_code = "000.00.21.H26"
    other_office.save()
    other_procedure = Procedure.objects.create(
        office=other_office, code="HT-KHAISINH", name="Đăng ký khai sinh", limit_working_days=3
    )
    assert _register(agency_office, procedure, MORNING) == f"{AGENCY}-251201-0001"
    assert _register(other_office, other_procedure, MORNING) == "000.00.21.H26-251201-0001"
    assert _register(agency_office, procedure, MORNING) == f"{AGENCY}-251201-0002"
    assert DossierSequence.objects.count() == 2


def test_a_code_given_is_kept_and_a_taken_number_is_skipped(
    agency_office: Office, procedure: Procedure
) -> None:
    """An imported code is kept as given, even in the pattern; generation steps over it."""
    taken = f"{AGENCY}-251201-0001"
    assert _register(agency_office, procedure, MORNING, code=taken) == taken
    assert _register(agency_office, procedure, MORNING) == f"{AGENCY}-251201-0002"
    assert Dossier.objects.count() == 2


def test_an_import_row_without_a_code_gets_one(agency_office: Office, procedure: Procedure) -> None:
    """The one-stop system sent no code: the row is registered under a generated one."""
    row = {
        "code": "",
        "office": agency_office.code,
        "procedure": procedure.code,
        "applicant_name": "Đinh Thị Lan",
        "email": "",
        "phone": "",
        "received_at": "2025-12-01 10:00",
    }
    (outcome,) = import_rows([row])
    assert outcome.registered is not None
    assert outcome.code == f"{AGENCY}-251201-0001"


def test_an_office_without_agency_code_asks_the_administrator(
    office: Office, procedure: Procedure
) -> None:
    """No agency identifier: a Vietnamese sentence telling who must fill it in; nothing made."""
    with pytest.raises(RegistrationError) as info:
        _register(office, procedure, MORNING)
    assert "chưa có mã định danh" in info.value.message_vi
    assert "quản trị viên" in info.value.message_vi
    assert not Dossier.objects.exists()
    assert not DossierSequence.objects.filter(last__gt=0).exists()


@pytest.mark.distributed
def test_concurrent_registrations_on_postgresql_get_distinct_codes(
    tmp_path: Path, postgres_database: str
) -> None:
    """Sixteen clerks pressing "Tiếp nhận" at the same instant on PostgreSQL get the numbers
    0001 to 0016 of the day, each once: no duplicate, no gap, no error."""
    threads = 16
    report = run_race("concurrent_codes.py", threads, postgres_database, tmp_path / "var")
    assert report["vendor"] == "postgresql"
    assert report["errors"] == []
    assert sorted(report["codes"]) == [f"{AGENCY}-251201-{n:04d}" for n in range(1, threads + 1)]
