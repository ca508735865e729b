"""Tests of working days, due dates and timeliness under Vietnamese holiday rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import get_args

import holidays
import pytest

from core.vntime import VN_TZ
from dossiers.calendar import (
    TIMELINESS_LABELS_VI,
    Timeliness,
    WorkCalendar,
    due_at,
    statutory_holidays,
    timeliness,
    working_days_late,
)

PLAIN = WorkCalendar()


def vn(
    year: int, month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=VN_TZ)


def lunar_new_year(year: int) -> date:
    """Return the first day of the lunar year as the holidays library computes it."""
    (day,) = holidays.country_holidays("VN", years=year, language="en_US").get_named(
        "Lunar New Year", lookup="exact"
    )
    return day


def tet_block(year: int) -> list[date]:
    """Return the library's consecutive run of days off around the lunar new year."""
    days_off = holidays.country_holidays("VN", years=year)
    first = last = lunar_new_year(year)
    while first - timedelta(days=1) in days_off or (first - timedelta(days=1)).weekday() >= 5:
        first -= timedelta(days=1)
    while last + timedelta(days=1) in days_off or (last + timedelta(days=1)).weekday() >= 5:
        last += timedelta(days=1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def test_weekend_is_skipped() -> None:
    """A one-day limit on a Friday is due at 17:00 on the next Monday."""
    due = due_at(vn(2025, 3, 14), 1, PLAIN)
    assert due == vn(2025, 3, 17, 17)
    assert due_at(vn(2025, 3, 14), 3, PLAIN) == vn(2025, 3, 19, 17)


def test_receipt_on_weekend_or_after_hours_counts_from_next_working_day() -> None:
    """Receipt on a Saturday, a Sunday or a Friday evening gives the same due moment."""
    expected = vn(2025, 3, 18, 17)
    assert due_at(vn(2025, 3, 15, 9), 2, PLAIN) == expected
    assert due_at(vn(2025, 3, 16, 9), 2, PLAIN) == expected
    assert due_at(vn(2025, 3, 14, 18, 30), 2, PLAIN) == expected
    assert due_at(vn(2025, 3, 14, 7, 30), 2, PLAIN) == expected


def test_due_moment_is_utc_and_17h_in_vietnam() -> None:
    """The due moment comes back in UTC and reads 17:00 in Asia/Ho_Chi_Minh."""
    due = due_at(vn(2025, 3, 14), 1, PLAIN)
    assert due.utcoffset() == timedelta(0)
    assert due.tzinfo == UTC
    assert due == datetime(2025, 3, 17, 10, 0, tzinfo=UTC)
    assert due.astimezone(VN_TZ).hour == 17


def test_receipt_date_is_taken_in_vietnam_time() -> None:
    """23:30 UTC on a Sunday is Monday morning in Vietnam, so Monday is the day of receipt."""
    received = datetime(2025, 3, 16, 23, 30, tzinfo=UTC)
    assert due_at(received, 1, PLAIN) == vn(2025, 3, 18, 17)
    tokyo = received.astimezone(timezone(timedelta(hours=9)))
    assert due_at(tokyo, 1, PLAIN) == due_at(received, 1, PLAIN)


def test_naive_datetimes_are_rejected() -> None:
    """Every function refuses a datetime without a time zone."""
    naive = datetime(2025, 3, 14, 10)
    aware = vn(2025, 3, 14)
    with pytest.raises(ValueError, match="received_at"):
        due_at(naive, 1, PLAIN)
    with pytest.raises(ValueError, match="resolved_at"):
        timeliness(naive, aware)
    with pytest.raises(ValueError, match="due"):
        timeliness(aware, naive)
    with pytest.raises(ValueError):
        working_days_late(naive, aware, PLAIN)


def test_negative_limit_is_rejected() -> None:
    """A negative time limit is an error, not a due date in the past."""
    with pytest.raises(ValueError, match="limit_working_days"):
        due_at(vn(2025, 3, 14), -1, PLAIN)


def test_zero_limit_is_due_the_same_working_day() -> None:
    """A zero-day limit is due at 17:00 the same working day, else at the next working day's end."""
    assert due_at(vn(2025, 3, 14, 9), 0, PLAIN) == vn(2025, 3, 14, 17)
    assert due_at(vn(2025, 3, 14, 17), 0, PLAIN) == vn(2025, 3, 14, 17)
    assert due_at(vn(2025, 3, 14, 17, 1), 0, PLAIN) == vn(2025, 3, 17, 17)
    assert due_at(vn(2025, 3, 15, 9), 0, PLAIN) == vn(2025, 3, 17, 17)


def test_lunar_new_year_2027_is_not_a_working_day() -> None:
    """Every day of the library's Tết 2027 holiday, the new year's day included, is off."""
    new_year = lunar_new_year(2027)
    block = tet_block(2027)
    assert new_year in block
    assert len(block) >= 7
    assert not any(PLAIN.is_working_day(day) for day in block)
    assert PLAIN.is_working_day(block[0] - timedelta(days=1))
    assert PLAIN.is_working_day(block[-1] + timedelta(days=1))


def test_five_day_limit_received_just_before_tet_2027_lands_after_it() -> None:
    """Five working days from the eve of the Tết 2027 holiday end past it, counting no Tết day."""
    block = tet_block(2027)
    received = datetime.combine(block[0] - timedelta(days=1), vn(2027, 1, 1, 16).timetz())
    due = due_at(received, 5, PLAIN).astimezone(VN_TZ).date()
    assert due > block[-1]
    weekdays_after = [
        block[-1] + timedelta(days=i)
        for i in range(1, 15)
        if (block[-1] + timedelta(days=i)).weekday() < 5
    ]
    assert due == weekdays_after[4]


def test_tet_2026() -> None:
    """A dossier received the Friday before Tết 2026 with 5 days is due the Friday after."""
    assert [PLAIN.is_working_day(date(2026, 2, d)) for d in range(16, 21)] == [False] * 5
    assert due_at(vn(2026, 2, 13), 5, PLAIN) == vn(2026, 2, 27, 17)


def test_reunification_and_labour_day_2025_with_swapped_saturday() -> None:
    """30/4–2/5/2025 are off and Saturday 26/4/2025 is worked in exchange."""
    assert not any(PLAIN.is_working_day(date(2025, m, d)) for m, d in ((4, 30), (5, 1), (5, 2)))
    assert PLAIN.is_working_day(date(2025, 4, 26))
    assert due_at(vn(2025, 4, 25), 1, PLAIN) == vn(2025, 4, 26, 17)
    assert due_at(vn(2025, 4, 29), 2, PLAIN) == vn(2025, 5, 6, 17)


def test_national_day() -> None:
    """2/9 and its adjacent day are off, and 2026's bridge day 31/8 too, repaid on Saturday 22/8."""
    assert not PLAIN.is_working_day(date(2025, 9, 1))
    assert not PLAIN.is_working_day(date(2025, 9, 2))
    assert due_at(vn(2025, 8, 29), 1, PLAIN) == vn(2025, 9, 3, 17)
    assert [PLAIN.is_working_day(date(2026, 8, 31)), PLAIN.is_working_day(date(2026, 9, 1))] == [
        False,
        False,
    ]
    assert PLAIN.is_working_day(date(2026, 8, 22))
    assert due_at(vn(2026, 8, 28), 1, PLAIN) == vn(2026, 9, 3, 17)


def test_extra_holidays_and_compensatory_saturdays() -> None:
    """Administrator-decreed bridge days are skipped and their compensatory Saturdays counted."""
    bridge, saturday = date(2027, 4, 29), date(2027, 4, 24)
    assert PLAIN.is_working_day(bridge)
    assert not PLAIN.is_working_day(saturday)
    decreed = WorkCalendar(extra_holidays=frozenset({bridge}), extra_workdays=frozenset({saturday}))
    assert not decreed.is_working_day(bridge)
    assert decreed.is_working_day(saturday)
    assert due_at(vn(2027, 4, 23), 1, decreed) == vn(2027, 4, 24, 17)
    assert due_at(vn(2027, 4, 23), 1, PLAIN) == vn(2027, 4, 26, 17)
    # 29/4 bridge, 30/4 holiday, weekend, 3/5 in lieu of Labour Day on Saturday 1/5.
    assert due_at(vn(2027, 4, 28), 1, decreed) == vn(2027, 5, 4, 17)


def test_extra_workday_overrides_a_library_holiday() -> None:
    """An administrator can declare a library holiday a working day."""
    cultural_day = date(2026, 11, 24)
    assert not PLAIN.is_working_day(cultural_day)
    assert WorkCalendar(extra_workdays=frozenset({cultural_day})).is_working_day(cultural_day)


def test_a_day_cannot_be_both_extra_holiday_and_extra_workday() -> None:
    """A calendar listing the same day as off and as worked is refused."""
    with pytest.raises(ValueError, match="2027-04-24"):
        WorkCalendar(
            extra_holidays=frozenset({date(2027, 4, 24)}),
            extra_workdays=frozenset({date(2027, 4, 24)}),
        )


def test_add_working_days_backwards_and_zero() -> None:
    """Zero days is the start itself and a negative count walks back over the weekend."""
    assert PLAIN.add_working_days(date(2025, 3, 15), 0) == date(2025, 3, 15)
    assert PLAIN.add_working_days(date(2025, 3, 17), -1) == date(2025, 3, 14)
    assert PLAIN.add_working_days(date(2026, 2, 23), -1) == date(2026, 2, 13)


def test_statutory_holidays_have_vietnamese_names() -> None:
    """The library's holidays are listed under their Vietnamese names and cannot be altered."""
    days_off = statutory_holidays(2026)
    assert days_off[date(2026, 9, 2)] == "Quốc khánh"
    assert days_off[date(2026, 2, 17)] == "Tết Nguyên Đán"
    assert all(day.year == 2026 for day in days_off)
    with pytest.raises(TypeError):
        days_off[date(2026, 3, 3)] = "x"  # type: ignore[index]


DUE = vn(2026, 2, 27, 17)


@pytest.mark.parametrize(
    ("resolved", "expected"),
    [
        (vn(2026, 2, 26, 23, 59, 59), "early"),
        (vn(2026, 2, 27, 0, 0), "on_time"),
        (datetime(2026, 2, 26, 17, 30, tzinfo=UTC), "on_time"),
        (vn(2026, 2, 27, 17, 0), "on_time"),
        (vn(2026, 2, 27, 17, 0, 1), "late"),
        (vn(2026, 3, 2, 8), "late"),
    ],
)
def test_timeliness_boundaries(resolved: datetime, expected: Timeliness) -> None:
    """Dates are compared in Vietnam time and the due moment itself is still on time."""
    assert timeliness(resolved, DUE) == expected


def test_timeliness_labels_cover_every_value() -> None:
    """Each timeliness value has its Vietnamese label."""
    assert set(TIMELINESS_LABELS_VI) == set(get_args(Timeliness))
    assert TIMELINESS_LABELS_VI["late"] == "Trễ hạn"


def test_working_days_late() -> None:
    """Lateness counts the working days after the due date, at least one when late at all."""
    assert working_days_late(vn(2026, 2, 27, 16), DUE, PLAIN) == 0
    assert working_days_late(vn(2026, 2, 27, 18), DUE, PLAIN) == 1
    assert working_days_late(vn(2026, 2, 28, 9), DUE, PLAIN) == 1
    assert working_days_late(vn(2026, 3, 2, 9), DUE, PLAIN) == 1
    assert working_days_late(vn(2026, 3, 4, 9), DUE, PLAIN) == 3
    # Due on the Friday before Tết 2026: the Tết week does not count.
    assert working_days_late(vn(2026, 2, 24, 9), vn(2026, 2, 13, 17), PLAIN) == 2
