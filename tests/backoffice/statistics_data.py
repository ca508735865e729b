"""Hand-counted statistics fixtures: a province P with two communes A and B (and a stranger
province Q), dossiers across March and April 2025, their documents, ratings and events.

Every figure the tests expect is counted by hand in the comments here and in
``tests/backoffice/test_statistics.py``; due moments are 17:00 Vietnam time, as
``dossiers.calendar.due_at`` sets them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backoffice.services.statistics import Figures
from core.vntime import VN_TZ
from dossiers.models import Document, DocumentState, Dossier, Event, Office, Procedure
from publishing.models import Rating

NOW = datetime(2025, 5, 15, 10, 0, tzinfo=VN_TZ)
"""The clock of the service tests: mid-May 2025."""


def figures(**counts: int) -> Figures:
    return Figures(**counts)


# March 2025, counted by hand (dossier by dossier in statistics_data.py)
A_MARCH = figures(
    received_new=4,  # A2 A3 A4 A5
    carried_over=1,  # A1
    resolved_early=1,  # A1
    resolved_on_time=1,  # A2
    resolved_late=1,  # A3
    pending_in_time=1,  # A5
    pending_overdue=1,  # A4
    supplement_requests=1,  # A3
    transfers=1,  # A4
    apologies=2,  # A3 A4
    digitized_signed=2,  # A1 A2
    rated=2,  # A1 A2
    unsatisfied=1,  # A2
)
B_MARCH = figures(
    received_new=2,  # B1 B2
    carried_over=1,  # B4
    resolved_on_time=1,  # B1
    resolved_late=1,  # B2 (17:30 on its due day)
    pending_overdue=1,  # B4
    transfers=2,  # B2 there and back
    digitized_signed=1,  # B1
    rated=1,  # B1
)
P_OWN_MARCH = figures(received_new=1, resolved_early=1)  # P1
P_MARCH = figures(
    received_new=7,
    carried_over=2,
    resolved_early=2,
    resolved_on_time=2,
    resolved_late=2,
    pending_in_time=1,
    pending_overdue=2,
    supplement_requests=1,
    transfers=3,
    apologies=2,
    digitized_signed=3,
    rated=3,
    unsatisfied=1,
)


def vn(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def due(month: int, day: int, year: int = 2025) -> datetime:
    return vn(month, day, 17, year=year)


@dataclass(frozen=True)
class Province:
    province: Office
    a: Office
    b: Office
    other: Office
    """An office of another province: never in P's figures."""

    dossiers: dict[str, Dossier]


def _dossier(
    code: str,
    procedure: Procedure,
    received: datetime,
    due_at: datetime,
    resolved: datetime | None = None,
) -> Dossier:
    return Dossier.objects.create(
        code=code,
        office=procedure.office,
        procedure=procedure,
        applicant_name=f"Người nộp {code}",
        received_at=received,
        due_at=due_at,
        resolved_at=resolved,
        status=Dossier.Status.RESOLVED if resolved else Dossier.Status.PROCESSING,
    )


def _document(dossier: Dossier, state: DocumentState) -> None:
    Document.objects.create(
        dossier=dossier, state=state, source_dir="/tmp/x", source_sha256="0" * 64
    )


def _event(dossier: Dossier, kind: str, at: datetime, actor: str = "") -> None:
    Event.objects.create(dossier=dossier, kind=kind, at=at, actor=actor)


def build() -> Province:
    """Create the offices, procedures, dossiers, documents, ratings and events."""
    province = Office.objects.create(code="tinh-p", name="UBND tỉnh P")
    a = Office.objects.create(code="xa-a", name="UBND xã A", parent=province)
    b = Office.objects.create(code="xa-b", name="UBND xã B", parent=province)
    q = Office.objects.create(code="tinh-q", name="UBND tỉnh Q")
    other = Office.objects.create(code="xa-c", name="UBND xã C", parent=q)

    def procedure(office: Office, code: str, name: str, field: str) -> Procedure:
        return Procedure.objects.create(
            office=office, code=code, name=name, field=field, limit_working_days=5
        )

    # the same national procedure (code and name) in both communes: one line per procedure
    birth_a = procedure(a, "1.001193", "Đăng ký khai sinh", "Hộ tịch")
    land_a = procedure(a, "1.004227", "Đăng ký đất đai lần đầu", "Đất đai")
    birth_b = procedure(b, "1.001193", "Đăng ký khai sinh", "Hộ tịch")
    copy_p = procedure(province, "2.000815", "Chứng thực bản sao", "Chứng thực")
    birth_c = procedure(other, "1.001193", "Đăng ký khai sinh", "Hộ tịch")

    d = {
        # A: carried into March (received in February), resolved early on 4/3 (due 5/3)
        "A1": _dossier("A1", birth_a, vn(2, 20), due(3, 5), vn(3, 4, 10)),
        # A: new in March, resolved on its due day before 17:00: on time
        "A2": _dossier("A2", birth_a, vn(3, 3), due(3, 10), vn(3, 10, 9)),
        # A: new in March, resolved after its due day: late
        "A3": _dossier("A3", land_a, vn(3, 5), due(3, 12), vn(3, 14)),
        # A: new in March, open and overdue at the end of March, resolved late on 2/4
        "A4": _dossier("A4", land_a, vn(3, 20), due(3, 27), vn(4, 2)),
        # A: new in March, still open: within time on 31/3, overdue on 30/4
        "A5": _dossier("A5", birth_a, vn(3, 28), due(4, 4)),
        # A: new in April, resolved early
        "A6": _dossier("A6", land_a, vn(4, 10), due(4, 17), vn(4, 15)),
        # A: new in April, open, due in May: within time on 30/4
        "A7": _dossier("A7", birth_a, vn(4, 25), due(5, 8)),
        # A: all in January (received and resolved early): in no figure of March or April
        "A8": _dossier("A8", birth_a, vn(1, 5), due(1, 12), vn(1, 10)),
        # B: new in March, resolved on its due day at 16:00: on time
        "B1": _dossier("B1", birth_b, vn(3, 10), due(3, 17), vn(3, 17, 16)),
        # B: new in March, resolved on its due day at 17:30, after the due moment: late
        "B2": _dossier("B2", birth_b, vn(3, 11), due(3, 18), vn(3, 18, 17, 30)),
        # B: new in April, resolved early
        "B3": _dossier("B3", birth_b, vn(4, 1), due(4, 8), vn(4, 7)),
        # B: received in January, never resolved: carried over and overdue every month since
        "B4": _dossier("B4", birth_b, vn(1, 15), due(1, 22)),
        # P's own desk: new in March, resolved early
        "P1": _dossier("P1", copy_p, vn(3, 14), due(3, 20), vn(3, 19)),
        # another province: new in March, resolved on time; never in P's figures
        "C1": _dossier("C1", birth_c, vn(3, 3), due(3, 10), vn(3, 10, 8)),
    }

    # digitized, signed results: A1 (two signed documents, counted once), A2, B1, A6, C1
    _document(d["A1"], DocumentState.SIGNED)
    _document(d["A1"], DocumentState.PUBLISHED)
    _document(d["A2"], DocumentState.PUBLISHED)
    _document(d["A3"], DocumentState.AWAITING_APPROVAL)
    _document(d["B1"], DocumentState.DELIVERED)
    _document(d["B2"], DocumentState.REJECTED)
    _document(d["A6"], DocumentState.SIGNED)
    _document(d["C1"], DocumentState.SIGNED)

    Rating.objects.create(dossier=d["A1"], score=Rating.Score.VERY_SATISFIED)
    Rating.objects.create(dossier=d["A2"], score=Rating.Score.UNSATISFIED)
    Rating.objects.create(dossier=d["B1"], score=Rating.Score.SATISFIED)
    Rating.objects.create(dossier=d["A6"], score=Rating.Score.SATISFIED)
    Rating.objects.create(dossier=d["C1"], score=Rating.Score.UNSATISFIED)

    # supplement requests, transfers and apology letters
    _event(d["A3"], "supplement_requested", vn(3, 6))
    _event(d["A3"], "apology_issued", vn(3, 13))
    _event(d["A4"], "transferred", vn(3, 21))
    _event(d["A4"], "apology_issued", vn(3, 28))
    _event(d["B2"], "transferred", vn(3, 12))
    _event(d["B2"], "transferred", vn(3, 14))
    _event(d["A5"], "supplement_requested", vn(4, 2))
    _event(d["C1"], "supplement_requested", vn(3, 5))

    # the steps officials took
    _event(d["A1"], "approved", vn(2, 25), "lanhdao-a")  # February: not in March
    _event(d["A1"], "approved", vn(3, 3), "lanhdao-a")
    _event(d["A1"], "signed", vn(3, 3, 10), "lanhdao-a")
    _event(d["A2"], "approved", vn(3, 9), "lanhdao-a")
    _event(d["A2"], "signed", vn(3, 9, 10), "lanhdao-a")
    _event(d["A3"], "approved", vn(3, 13), "lanhdao-a")
    _event(d["A4"], "rejected", vn(3, 25), "lanhdao-a")
    _event(d["B1"], "approved", vn(3, 16), "lanhdao-b")
    _event(d["B1"], "signed", vn(3, 17), "lanhdao-b")
    _event(d["B2"], "approved", vn(3, 18), "lanhdao-b")
    _event(d["B2"], "approved", vn(3, 18, 10), "")  # no actor: no official's step
    _event(d["A6"], "approved", vn(4, 14), "lanhdao-a")
    _event(d["A6"], "signed", vn(4, 14, 10), "lanhdao-a")
    _event(d["C1"], "approved", vn(3, 9), "lanhdao-c")
    return Province(province=province, a=a, b=b, other=other, dossiers=d)
