"""Stored monthly figures: the same figures as counting every dossier, and kept right when
something in a closed month changes, whatever writes it (services, ``QuerySet.update``, the
admin's save), through the database's triggers."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import CharField

from backoffice.models import CountedChange, MonthFigures, StoredMonth
from backoffice.services import statistics_store
from backoffice.services.periods import Period
from backoffice.services.statistics import (
    Cell,
    Figures,
    MonthPoint,
    add_counts,
    dossier_counts,
    event_counts,
    month_series_of,
    to_figures,
)
from backoffice.services.statistics_counting import Scope, count
from backoffice.services.statistics_report import build_report
from backoffice.services.statistics_triggers import PREFIX, install, installed
from core.vntime import VN_TZ
from dossiers.models import (
    Document,
    DocumentState,
    Dossier,
    Event,
    Membership,
    Office,
    Procedure,
    Role,
)
from publishing.models import Rating
from tests.backoffice.statistics_data import NOW, Province, build, vn

pytestmark = pytest.mark.django_db

KINDS = ("supplement_requested", "transferred", "apology_issued", "approved", "registered")
STATES = list(DocumentState)
SCORES = list(Rating.Score)


def everything() -> Scope:
    return Scope(
        dossiers=Dossier.objects.all(),
        events=Event.objects.all(),
        stored=MonthFigures.objects.all(),
    )


def counted_from_the_dossiers(period: Period, now: datetime) -> dict[Cell, Figures]:
    """The reference: every count read from the dossiers and events themselves."""
    cut = period.cutoff(now)
    counts = dossier_counts(Dossier.objects.all(), period, cut)
    add_counts(counts, event_counts(Event.objects.all(), period.start, cut))
    return {cell: to_figures(c) for cell, c in counts.items() if any(c.values())}


def series_from_the_dossiers(period: Period, now: datetime) -> list[MonthPoint]:
    return month_series_of(Dossier.objects.all(), period.whole_year(), now)


def assert_as_counted(period: Period, now: datetime) -> None:
    found = count(everything(), period, now)
    assert found.cells == counted_from_the_dossiers(period, now), period
    assert found.months == series_from_the_dossiers(period, now), period


def _moment(rng: random.Random, first: datetime, days: int) -> datetime:
    """A moment, a third of them within an hour of a Vietnam midnight (month edges)."""
    day = first + timedelta(days=rng.randrange(days))
    if rng.random() < 0.33:
        return day.replace(hour=0, minute=0) + timedelta(minutes=rng.choice((-30, -1, 0, 1, 30)))
    return day + timedelta(minutes=rng.randrange(24 * 60))


def random_dossiers(seed: int, n: int = 260) -> None:
    """Dossiers from 2024 to mid-2025 in two offices, some open, some odd (resolved or due
    before received), with documents, ratings and events (some before their dossier)."""
    rng = random.Random(seed)
    offices = [Office.objects.create(code=f"o{i}", name=f"Cơ quan {i}") for i in range(2)]
    procedures = [
        Procedure.objects.create(office=o, code=f"p{i}", name=f"Thủ tục {i}", limit_working_days=5)
        for o in offices
        for i in range(2)
    ]
    start = datetime(2024, 1, 1, tzinfo=VN_TZ)
    for i in range(n):
        procedure = rng.choice(procedures)
        received = _moment(rng, start, 540)
        due = (received + timedelta(days=rng.randrange(1, 25))).replace(hour=17, minute=0)
        roll = rng.random()
        if roll < 0.04:
            due = received - timedelta(days=2)  # odd: due before received
        resolved: datetime | None = received + timedelta(hours=rng.randrange(1, 40 * 24))
        if roll > 0.9:
            resolved = None
        elif 0.04 <= roll < 0.08:
            resolved = received - timedelta(days=rng.randrange(1, 60))  # odd
        dossier = Dossier.objects.create(
            code=f"R{seed}-{i}",
            office=procedure.office,
            procedure=procedure,
            applicant_name="x",
            received_at=received,
            due_at=due,
            resolved_at=resolved,
        )
        for _ in range(rng.randrange(3)):
            Document.objects.create(
                dossier=dossier, state=rng.choice(STATES), source_dir="/x", source_sha256="0" * 64
            )
        if rng.random() < 0.4:
            Rating.objects.create(dossier=dossier, score=rng.choice(SCORES))
        for _ in range(rng.randrange(4)):
            at = received + timedelta(hours=rng.randrange(-10 * 24, 50 * 24))
            Event.objects.create(dossier=dossier, kind=rng.choice(KINDS), at=at)


@pytest.fixture()
def province() -> Province:
    return build()


def stored_months() -> set[date]:
    return set(StoredMonth.objects.values_list("month", flat=True))


def stamps() -> dict[date, datetime]:
    """When each stored month was last counted."""
    return dict(StoredMonth.objects.values_list("month", "computed_at"))


FEBRUARY, MARCH, APRIL = date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)
JANUARY_TO_APRIL = {date(2025, month, 1) for month in range(1, 5)}
"""What the fixtures' report of 15 May 2025 stores (A8, the first dossier, came in January)."""


PERIODS = [
    *(Period(year, month=month) for year in (2024, 2025) for month in range(1, 13)),
    *(Period(year, quarter=quarter) for year in (2024, 2025) for quarter in range(1, 5)),
    Period(2023),
    Period(2024),
    Period(2025),
    Period(2026),
]


@pytest.mark.parametrize("now", [NOW, datetime(2025, 6, 1, tzinfo=VN_TZ)])
def test_stored_months_give_what_counting_every_dossier_gives(now: datetime) -> None:
    """Every month, quarter and year, past, running and to come, at a moment mid-month and
    at a month's very first moment: the same cells, figure for figure, and the same series."""
    random_dossiers(seed=766)
    for period in PERIODS:
        assert_as_counted(period, now)
    stored = sorted(stored_months())
    running = date(now.year, now.month, 1)
    assert stored[0] <= date(2024, 1, 1)
    assert stored[-1] == (running - timedelta(days=1)).replace(day=1)
    assert all(after.toordinal() - before.toordinal() <= 31 for before, after in pairwise(stored))


def test_a_closed_month_is_counted_once(province: Province) -> None:
    """The second report reads the stored months: nothing is counted again."""
    admin = User.objects.create_user("quantri")
    Membership.objects.create(user=admin, office=province.province, role=Role.ADMIN)
    build_report(admin, Period(2025, month=3), NOW)
    stamps = dict(StoredMonth.objects.values_list("month", "computed_at"))
    assert set(stamps) == JANUARY_TO_APRIL
    build_report(admin, Period(2025, month=4), NOW)
    assert dict(StoredMonth.objects.values_list("month", "computed_at")) == stamps


def test_changes_after_the_month_closed_are_counted(province: Province) -> None:
    """Each change has the months it counted in counted again at the next view (and only
    those: resolving a dossier now leaves its month of receipt as stored); the figures then
    equal counting every dossier, and the recorded changes are gone."""
    d = province.dossiers
    march = Period(2025, month=3)

    def changed(*months: date) -> None:
        before = stamps()
        for period in (march, Period(2025, month=4), Period(2025, quarter=1), Period(2025)):
            assert_as_counted(period, NOW)
        after = stamps()
        assert {month for month in after if after[month] != before.get(month)} == set(months)
        assert set(after) == JANUARY_TO_APRIL
        assert not CountedChange.objects.exists()

    assert_as_counted(march, NOW)
    assert stored_months() == JANUARY_TO_APRIL

    # resolved late today (A5: received 28/3, due 4/4): nothing stored changes
    Dossier.objects.filter(pk=d["A5"].pk).update(resolved_at=NOW)
    changed()
    # registered afterwards, received in March, due in April: both months
    late_entry = Dossier.objects.create(
        code="LATE",
        office=province.a,
        procedure=d["A1"].procedure,
        applicant_name="x",
        received_at=vn(3, 28),
        due_at=vn(4, 10, 17),
    )
    changed(MARCH, APRIL)
    # then resolved in time on 31 March: March, and April, which counted it as coming due
    Dossier.objects.filter(pk=late_entry.pk).update(resolved_at=vn(3, 31))
    changed(MARCH, APRIL)
    # resolved on time in March after all, by an .update(): March and the due month
    Dossier.objects.filter(pk=d["A4"].pk).update(resolved_at=vn(3, 26))
    changed(MARCH, APRIL)
    # the due date moved (apology letter) on an open dossier: its due months
    Dossier.objects.filter(pk=d["B4"].pk).update(due_at=vn(4, 20, 17))
    changed(date(2025, 1, 1), APRIL)
    # a rating given in May for a dossier resolved in March
    Rating.objects.create(dossier=d["A3"], score=Rating.Score.UNSATISFIED)
    changed(MARCH)
    # a document of A3 signed afterwards
    Document.objects.filter(dossier=d["A3"]).update(state=DocumentState.SIGNED)
    changed(MARCH)
    # an event recorded in April, then deleted
    event = Event.objects.create(dossier=d["A6"], kind="transferred", at=vn(4, 11))
    changed(APRIL)
    event.delete()
    changed(APRIL)
    # an event of a kind not counted: nothing counted again
    Event.objects.create(dossier=d["A6"], kind="approved", at=vn(4, 11))
    changed()
    # B2 (all in March) given an event in February, then moved to another office (saved as
    # the admin saves): its months, and its events' months
    Event.objects.create(dossier=d["B2"], kind="supplement_requested", at=vn(2, 20))
    changed(FEBRUARY)
    b2 = d["B2"]
    b2.office = province.a
    b2.procedure = Procedure.objects.get(office=province.a, code="1.001193")
    b2.save()
    changed(FEBRUARY, MARCH)
    # received in the future by mistake, resolved before: odd, counted from the dossier
    Dossier.objects.filter(pk=d["A6"].pk).update(received_at=vn(4, 20))
    changed(APRIL)
    # a dossier registered today, a status changed: nothing stored changes
    Dossier.objects.create(
        code="NEW",
        office=province.a,
        procedure=d["A1"].procedure,
        applicant_name="x",
        received_at=NOW,
        due_at=NOW + timedelta(days=7),
    )
    Dossier.objects.filter(pk=d["A7"].pk).update(status=Dossier.Status.SUPPLEMENT)
    changed()


def test_an_older_way_of_counting_is_counted_again(province: Province) -> None:
    """Stored under another version of the rules: counted again before being read."""
    assert_as_counted(Period(2025, month=3), NOW)
    MonthFigures.objects.filter(month=MARCH).update(received=99)
    StoredMonth.objects.filter(month=MARCH).update(version=statistics_store.FIGURES_VERSION - 1)
    assert_as_counted(Period(2025, month=3), NOW)
    assert StoredMonth.objects.get(month=MARCH).version == statistics_store.FIGURES_VERSION


def test_missing_triggers_are_installed_again_and_every_month_recounted(
    province: Province,
) -> None:
    """A table rebuilt by a SQLite migration loses its triggers: the next view finds one
    missing, creates them all again and counts every month again (changes made meanwhile
    were not recorded)."""
    assert_as_counted(Period(2025, month=3), NOW)
    present = installed(connection)
    assert len(present) == 12 and all(name.startswith(PREFIX) for name in present)
    assert install(connection) is False
    before = stamps()
    name, table = next(iter(present.items()))
    with connection.cursor() as cursor:
        on = f" ON {table}" if connection.vendor == "postgresql" else ""
        cursor.execute(f"DROP TRIGGER {name}{on}")
    Dossier.objects.filter(pk=province.dossiers["A4"].pk).update(resolved_at=vn(3, 26))
    assert_as_counted(Period(2025, month=3), NOW)
    assert installed(connection) == present
    after = stamps()
    assert set(after) == set(before) and all(after[m] != before[m] for m in before)


@pytest.mark.django_db(transaction=True)
def test_a_migration_may_rebuild_the_dossiers_table() -> None:
    """SQLite rebuilds a table to alter a column (a copy, the table dropped, the copy
    renamed): no trigger's body names the dossiers' tables, so the rebuild goes through."""
    province = build()
    assert_as_counted(Period(2025, month=3), NOW)
    old = Dossier._meta.get_field("applicant_name")
    new: CharField[str, str] = CharField(max_length=300)
    new.set_attributes_from_name("applicant_name")
    new.model = Dossier
    with connection.schema_editor() as editor:
        editor.alter_field(Dossier, old, new, strict=True)
        editor.alter_field(Dossier, new, old, strict=True)
    Dossier.objects.filter(pk=province.dossiers["A4"].pk).update(resolved_at=vn(3, 26))
    assert_as_counted(Period(2025, month=3), NOW)
    assert_as_counted(Period(2025, month=4), NOW)
