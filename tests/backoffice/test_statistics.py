"""Statistics against hand-counted fixtures (tests/backoffice/statistics_data.py): every
figure of two communes A and B under province P, in March, April, the first quarter and
the year 2025; the roll-up; the series by month; the officials; the overdue dossiers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from backoffice.services.periods import Period, parse_period
from backoffice.services.statistics import Figures
from backoffice.services.statistics_report import (
    LINE_OFFICE,
    LINE_OWN,
    LINE_TOTAL,
    Report,
    build_report,
    key_figures,
    overdue_rows,
)
from core.vntime import VN_TZ
from dossiers.calendar import working_days_late
from dossiers.models import CalendarDay, Dossier, Event, Membership, Office, Procedure, Role
from tests.backoffice.statistics_data import (
    A_MARCH,
    B_MARCH,
    NOW,
    P_MARCH,
    P_OWN_MARCH,
    Province,
    build,
    due,
    figures,
    vn,
)

pytestmark = pytest.mark.django_db

MARCH = Period(2025, month=3)
APRIL = Period(2025, month=4)


A_APRIL = figures(
    received_new=2,  # A6 A7
    carried_over=2,  # A4 A5
    resolved_early=1,  # A6
    resolved_late=1,  # A4
    pending_in_time=1,  # A7 (due in May)
    pending_overdue=1,  # A5
    supplement_requests=1,  # A5
    digitized_signed=1,  # A6
    rated=1,  # A6
)
B_APRIL = figures(received_new=1, carried_over=1, resolved_early=1, pending_overdue=1)


@pytest.fixture(autouse=True)
def vietnamese() -> Iterator[None]:
    """Names and labels in Vietnamese, whatever language an earlier request left active."""
    with translation.override("vi"):
        yield


@pytest.fixture()
def province() -> Province:
    return build()


def person(name: str, office: Office, *roles: Role, **names: str) -> User:
    user = User.objects.create_user(name, **names)
    for role in roles:
        Membership.objects.create(user=user, office=office, role=role)
    return user


def admin_of(province: Province) -> User:
    return person("quantri-p", province.province, Role.ADMIN)


def lines(report: Report) -> dict[tuple[str, str], Figures]:
    return {(line.name, line.kind): line.figures for line in report.offices}


def test_march_for_the_province_every_figure_and_the_roll_up(province: Province) -> None:
    """Each office's figures, P's own, and P's total equal to its own plus A's and B's."""
    report = build_report(admin_of(province), MARCH, NOW)
    assert [(line.name, line.kind, line.depth) for line in report.offices] == [
        ("UBND tỉnh P", LINE_TOTAL, 0),
        ("UBND tỉnh P", LINE_OWN, 0),
        ("UBND xã A", LINE_OFFICE, 1),
        ("UBND xã B", LINE_OFFICE, 1),
    ]
    found = lines(report)
    assert found[("UBND xã A", LINE_OFFICE)] == A_MARCH
    assert found[("UBND xã B", LINE_OFFICE)] == B_MARCH
    assert found[("UBND tỉnh P", LINE_OWN)] == P_OWN_MARCH
    assert found[("UBND tỉnh P", LINE_TOTAL)] == P_MARCH
    assert P_OWN_MARCH + A_MARCH + B_MARCH == P_MARCH
    assert report.total == P_MARCH
    assert report.scope_name == "UBND tỉnh P"


def test_march_rates(province: Province) -> None:
    """On time = (early + on time) / (resolved + pending overdue); digitized and satisfied
    over the resolved; rates of an office with nothing resolved are None."""
    found = lines(build_report(admin_of(province), MARCH, NOW))
    a, b = found[("UBND xã A", LINE_OFFICE)], found[("UBND xã B", LINE_OFFICE)]
    p = found[("UBND tỉnh P", LINE_TOTAL)]
    assert (a.received, a.resolved, a.pending, a.came_due) == (5, 3, 2, 4)
    assert (a.on_time_rate, a.digitized_rate, a.satisfaction_rate) == (50.0, 66.67, 66.67)
    assert (b.on_time_rate, b.digitized_rate, b.satisfaction_rate) == (33.33, 50.0, 100.0)
    assert (p.on_time_rate, p.digitized_rate, p.satisfaction_rate) == (50.0, 50.0, 83.33)
    assert Figures().on_time_rate is None and Figures().satisfaction_rate is None


def test_april_carries_march_over(province: Province) -> None:
    """What was open at the end of March is carried into April; P's own desk had nothing."""
    report = build_report(admin_of(province), APRIL, NOW)
    found = lines(report)
    assert found[("UBND xã A", LINE_OFFICE)] == A_APRIL
    assert found[("UBND xã B", LINE_OFFICE)] == B_APRIL
    assert found[("UBND tỉnh P", LINE_OWN)] == Figures()
    assert report.total == A_APRIL + B_APRIL
    assert report.total.on_time_rate == 40.0  # (A6 + B3) / (A4 A6 B3 + A5 B4)


def test_a_quarter_and_a_running_year(province: Province) -> None:
    """The first quarter starts empty (nothing carried over); the year 2025, still running
    on 15 May, counts what is open now, A7 included (due 8 May)."""
    admin = admin_of(province)
    quarter = lines(build_report(admin, Period(2025, quarter=1), NOW))[("UBND xã A", LINE_OFFICE)]
    assert quarter == figures(
        received_new=6,  # A1 A2 A3 A4 A5 A8
        resolved_early=2,  # A8 A1
        resolved_on_time=1,  # A2
        resolved_late=1,  # A3
        pending_in_time=1,  # A5
        pending_overdue=1,  # A4
        supplement_requests=1,
        transfers=1,
        apologies=2,
        digitized_signed=2,
        rated=2,
        unsatisfied=1,
    )
    year = build_report(admin, Period(2025), NOW).total
    assert year == figures(
        received_new=13,
        resolved_early=5,  # A1 A6 A8 B3 P1
        resolved_on_time=2,  # A2 B1
        resolved_late=3,  # A3 A4 B2
        pending_overdue=3,  # A5 A7 B4
        supplement_requests=2,
        transfers=3,
        apologies=2,
        digitized_signed=4,  # A1 A2 B1 A6
        rated=4,
        unsatisfied=1,
    )
    assert (year.on_time_rate, year.digitized_rate, year.satisfaction_rate) == (
        53.85,
        40.0,
        90.0,
    )


def test_by_field_and_procedure_add_up(province: Province) -> None:
    """The same national procedure in A and B is one line; fields and procedures each add up
    to the total; a procedure without a field is listed apart."""
    report = build_report(admin_of(province), MARCH, NOW)
    by_field = {line.label: line.figures for line in report.fields}
    assert set(by_field) == {"Hộ tịch", "Đất đai", "Chứng thực"}
    assert by_field["Hộ tịch"] == figures(
        received_new=4,  # A2 A5 B1 B2
        carried_over=2,  # A1 B4
        resolved_early=1,  # A1
        resolved_on_time=2,  # A2 B1
        resolved_late=1,  # B2
        pending_in_time=1,  # A5
        pending_overdue=1,  # B4
        transfers=2,
        digitized_signed=3,
        rated=3,
        unsatisfied=1,
    )
    assert by_field["Đất đai"] == figures(
        received_new=2,
        resolved_late=1,
        pending_overdue=1,
        supplement_requests=1,
        transfers=1,
        apologies=2,
    )
    assert by_field["Chứng thực"] == P_OWN_MARCH
    by_procedure = {line.label: line.figures for line in report.procedures}
    assert by_procedure == {
        "1.001193 — Đăng ký khai sinh": by_field["Hộ tịch"],
        "1.004227 — Đăng ký đất đai lần đầu": by_field["Đất đai"],
        "2.000815 — Chứng thực bản sao": by_field["Chứng thực"],
    }
    assert sum(by_field.values(), Figures()) == report.total
    Procedure.objects.filter(code="2.000815").update(field="")
    unfiled = build_report(User.objects.get(username="quantri-p"), MARCH, NOW).fields
    assert [line.label for line in unfiled][-1] == "(Chưa phân lĩnh vực)"


def test_officials_by_the_steps_they_took(province: Province) -> None:
    """March steps per official, how their dossiers fared by 31 March; no step without an
    actor, none of another province, none of February."""
    person("lanhdao-a", province.a, Role.OFFICIAL, first_name="Trần", last_name="Văn An")
    people = build_report(admin_of(province), MARCH, NOW).officials
    assert people is not None
    found = {official.actor: asdict(official) for official in people}
    assert found == {
        "lanhdao-a": {
            "actor": "lanhdao-a",
            "name": "Trần Văn An",
            "approved": 3,  # A1 A2 A3 (A1's February approval not counted)
            "rejected": 1,  # A4
            "signed": 2,  # A1 A2
            "dossiers": 4,
            "resolved_early": 1,  # A1
            "resolved_on_time": 1,  # A2
            "resolved_late": 1,  # A3
            "pending_in_time": 0,
            "pending_overdue": 1,  # A4, resolved only on 2 April
        },
        "lanhdao-b": {
            "actor": "lanhdao-b",
            "name": "lanhdao-b",
            "approved": 2,
            "rejected": 0,
            "signed": 1,
            "dossiers": 2,
            "resolved_early": 0,
            "resolved_on_time": 1,
            "resolved_late": 1,
            "pending_in_time": 0,
            "pending_overdue": 0,
        },
    }
    assert [o.on_time_rate for o in people] == [50.0, 50.0]


def test_the_on_time_rate_month_by_month(province: Province) -> None:
    """January to May 2025 (the running month counted to now); March and April agree with
    their periods' figures."""
    months = build_report(admin_of(province), MARCH, NOW).months
    assert [m.period for m in months] == [Period(2025, month=n) for n in range(1, 6)]
    assert [(m.resolved, m.in_time, m.pending_overdue) for m in months] == [
        (1, 1, 1),  # A8 in time; B4 overdue
        (0, 0, 1),  # B4
        (6, 4, 2),  # A1 A2 B1 P1 in time, A3 B2 late; A4 B4 overdue
        (3, 2, 2),  # A6 B3 in time, A4 late; A5 B4 overdue
        (0, 0, 3),  # A5 A7 B4
    ]
    assert [m.on_time_rate for m in months] == [50.0, 0.0, 50.0, 40.0, 0.0]


def test_a_head_sees_their_office_only(province: Province) -> None:
    """Head of A: A's figures, one line, nothing of B or P; asking for B is refused."""
    head = person("truong-a", province.a, Role.HEAD)
    report = build_report(head, MARCH, NOW)
    assert [(line.name, line.kind) for line in report.offices] == [("UBND xã A", LINE_OFFICE)]
    assert report.total == A_MARCH
    assert report.officials is not None
    assert {o.actor for o in report.officials} == {"lanhdao-a"}
    with pytest.raises(LookupError):
        build_report(head, MARCH, NOW, office_id=province.b.pk)


def test_the_admin_may_narrow_to_one_commune(province: Province) -> None:
    report = build_report(admin_of(province), MARCH, NOW, office_id=province.b.pk)
    assert report.total == B_MARCH and report.scope_name == "UBND xã B"


def test_the_queries_do_not_grow_with_the_dossiers(province: Province) -> None:
    """Fifteen reads once the person's roles are read, the same for many more dossiers:
    offices; the statistics' triggers, the stored months, the recorded changes, the first
    dossier and counted event (``refresh``); the stored figures by cell; the running month's
    dossiers and events; the odd dossiers; the stored figures by month and the odd dossiers'
    months (the series); officials, their names; procedures. The new dossiers' months are
    counted again with writes only."""
    admin = admin_of(province)
    build_report(admin, Period(2025), NOW)  # the person's roles, read once per request
    with CaptureQueriesContext(connection) as first:
        build_report(admin, Period(2025), NOW)
    for n in range(30):
        d = province.dossiers["A1"]
        d.pk = None
        d.code = f"X{n}"
        d.save()
    with CaptureQueriesContext(connection) as second:
        build_report(admin, Period(2025), NOW)
    selects = [
        [q for q in captured.captured_queries if q["sql"].startswith("SELECT")]
        for captured in (first, second)
    ]  # PostgreSQL adds its transaction and settings (``reporting``)
    assert len(selects[0]) == len(selects[1]) == 15


def test_officials_are_left_to_the_offices_when_too_many(province: Province) -> None:
    """Over more offices than the page lists officials for: not counted (one query less),
    unless asked for (the export)."""
    admin = admin_of(province)
    with mock.patch("backoffice.services.statistics_report.OFFICIALS_ON_PAGE", 2):
        assert build_report(admin, MARCH, NOW).officials is None
        assert build_report(admin, MARCH, NOW, office_id=province.a.pk).officials is not None
        asked = build_report(admin, MARCH, NOW, with_officials=True).officials
    assert asked is not None and {o.actor for o in asked} == {"lanhdao-a", "lanhdao-b"}


def test_overdue_dossiers_longest_first(province: Province) -> None:
    """Open and past due on 15 May: B4, A5, A7, in that order; a head may open them, the
    province's administrator may not (no dossier role)."""
    admin = admin_of(province)
    rows, count = overdue_rows(admin, NOW)
    assert [r.dossier.code for r in rows] == ["B4", "A5", "A7"] and count == 3
    assert not any(r.openable for r in rows)
    assert rows[2].working_days_late == 5  # 9, 12, 13, 14, 15 May
    calendar = CalendarDay.work_calendar()
    assert [r.working_days_late for r in rows] == [
        working_days_late(NOW, r.dossier.due_at, calendar) for r in rows
    ]  # as dossiers.calendar counts them (Hùng Kings, 30/4 and 1/5 off)
    head = person("truong-a", province.a, Role.HEAD)
    rows, count = overdue_rows(head, NOW)
    assert [r.dossier.code for r in rows] == ["A5", "A7"] and count == 2
    assert all(r.openable for r in rows)


def test_key_figures_of_the_running_month(province: Province) -> None:
    """The start page's figures: May 2025 to now for A's head (A5 and A7 overdue)."""
    head = person("truong-a", province.a, Role.HEAD)
    key = key_figures(head, datetime(2025, 5, 15, 10, tzinfo=VN_TZ))
    assert key.period == Period(2025, month=5)
    assert key.figures == figures(carried_over=2, pending_overdue=2)


def test_periods() -> None:
    """Bounds in Vietnam time, names as reports write them, the page's keys."""
    q2 = parse_period(2025, "q2")
    assert (q2.start, q2.end) == (
        datetime(2025, 4, 1, tzinfo=VN_TZ),
        datetime(2025, 7, 1, tzinfo=VN_TZ),
    )
    assert q2.label == "Quý II/2025" and q2.slug == "2025-q2" and q2.key == "q2"
    december = parse_period(2025, "t12")
    assert december.end == datetime(2026, 1, 1, tzinfo=VN_TZ)
    assert december.label == "Tháng 12/2025" and december.last_day.day == 31
    assert parse_period(2024, "").label == "Năm 2024" and len(Period(2024).months()) == 12
    for bad in ("q5", "t13", "x1"):
        with pytest.raises(ValueError):
            parse_period(2025, bad)


def test_early_and_on_time_are_told_apart_by_the_vietnam_day(db: None) -> None:
    """Resolved at 06:30 on the due day (still the day before in UTC): on time, not early;
    at 23:30 the evening before: early; at 17:00 sharp: on time; at 17:01: late."""
    office = Office.objects.create(code="xa-d", name="UBND xã D")
    procedure = Procedure.objects.create(
        office=office, code="1", name="Khai sinh", limit_working_days=3
    )
    resolved = {
        "D1": vn(3, 10, 6, 30),
        "D2": vn(3, 9, 23, 30),
        "D3": vn(3, 10, 17, 0),
        "D4": vn(3, 10, 17, 1),
    }
    for code, moment in resolved.items():
        dossier = Dossier.objects.create(
            code=code,
            office=office,
            procedure=procedure,
            applicant_name=code,
            received_at=vn(3, 3),
            due_at=due(3, 10),
            resolved_at=moment,
        )
        Event.objects.create(dossier=dossier, kind="signed", actor="lanhdao-d", at=vn(3, 5))
    head = person("truong-d", office, Role.HEAD)
    total = build_report(head, MARCH, NOW).total
    assert (total.resolved_early, total.resolved_on_time, total.resolved_late) == (1, 2, 1)
    people = build_report(head, MARCH, NOW).officials
    assert people is not None
    (official,) = people
    assert (official.resolved_early, official.resolved_on_time, official.resolved_late) == (1, 2, 1)
