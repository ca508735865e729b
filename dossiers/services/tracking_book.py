"""The tracking book of one office over whole days, read from the dossiers in one bounded query."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Max, Min, Q, QuerySet

from core.vntime import VN_TZ
from dossiers.calendar import TIMELINESS_LABELS_VI, timeliness
from dossiers.forms_text import BOOK_FORM, regime_of
from dossiers.models import Dossier, Office, Role, StepKind
from dossiers.services.access import offices, scope
from dossiers.tracking_book import BookData, BookRow

__all__ = ["BOOK_ROLES", "MAX_DAYS", "MAX_ROWS", "book_offices", "check_days", "tracking_book"]

User = AbstractBaseUser | AnonymousUser

BOOK_ROLES = (Role.CLERK, Role.HEAD)
"""Who keeps and reads an office's tracking book: its one-stop desk and its head."""

MAX_ROWS = 2000
"""Most dossiers one book holds: a commune receives a few thousand a year at most."""

MAX_DAYS = 366
"""Longest period one book covers."""

S = Dossier.Status
_RUNNING = (S.RECEIVED, S.PROCESSING, S.TRANSFERRED)
"""States whose clock runs, so that being past due makes them overdue."""

_SENT = (StepKind.PROCESSING, StepKind.TRANSFER)
"""Steps by which the desk hands a dossier to an office that resolves it."""

_ENDED = (S.REFUSED, S.STOPPED, S.WITHDRAWN, S.RETURNED)
"""States of a dossier that ended: without a result, its papers are to be given back."""


def book_offices(user: User | None) -> QuerySet[Office]:
    """The offices whose book the person may keep, by name."""
    return offices(user, *BOOK_ROLES).select_related("parent").order_by("name", "pk")


def check_days(first_day: date, last_day: date) -> None:
    """Raise ValueError (in Vietnamese) for a period that runs backwards or is too long."""
    if last_day < first_day:
        raise ValueError("Ngày cuối phải sau hoặc trùng ngày đầu.")
    if (last_day - first_day).days >= MAX_DAYS:
        raise ValueError(f"Mỗi sổ theo dõi dài tối đa {MAX_DAYS} ngày.")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=VN_TZ)


def _rows(office: Office, user: User | None, first_day: date, last_day: date) -> QuerySet[Any]:
    """The period's dossiers of the office with the moments the book shows: one query."""
    dossiers = scope(Dossier.objects.filter(office=office), user, *BOOK_ROLES).filter(
        received_at__gte=_midnight(first_day),
        received_at__lt=_midnight(last_day + timedelta(days=1)),
    )
    return (
        dossiers.values(
            "pk",
            "code",
            "applicant_name",
            "phone",
            "email",
            "received_at",
            "due_at",
            "resolved_at",
            "status",
            "procedure__name",
            "procedure__office__name",
        )
        .annotate(
            sent_at=Min("steps__started_at", filter=Q(steps__kind__in=_SENT)),
            returned_at=Max("steps__started_at", filter=Q(steps__kind=StepKind.RETURN)),
            supplements=Count("steps", filter=Q(steps__kind=StepKind.SUPPLEMENT)),
            transfers=Count("steps", filter=Q(steps__kind=StepKind.TRANSFER)),
            handled_until=Max("steps__ended_at", filter=~Q(steps__kind=StepKind.RETURN)),
        )
        .order_by("received_at", "pk")
    )


def _note(row: dict[str, Any], now: datetime) -> str:
    """Ghi chú: the state, whether on time, and the supplement requests and transfers."""
    parts = [str(S(row["status"]).label)]
    if row["resolved_at"] is not None:
        parts.append(TIMELINESS_LABELS_VI[timeliness(row["resolved_at"], row["due_at"])])
    elif row["status"] in _RUNNING and row["due_at"] < now:
        parts.append("Quá hạn")
    if row["supplements"]:
        parts.append(f"Yêu cầu bổ sung {row['supplements']} lần")
    if row["transfers"]:
        parts.append(f"Liên thông {row['transfers']} lần")
    return "; ".join(parts)


def _given_back_at(row: dict[str, Any]) -> datetime | None:
    """When a dossier ended without a result (refused, stopped, withdrawn): the end of its
    last step before any hand-back at the desk."""
    return row["handled_until"] if row["status"] in _ENDED else None


def _book_row(row: dict[str, Any], now: datetime) -> BookRow:
    contact = "; ".join(value for value in (row["phone"], row["email"]) if value)
    return BookRow(
        code=row["code"],
        procedure=row["procedure__name"],
        applicant=row["applicant_name"],
        contact=contact,
        lead_office=row["procedure__office__name"],
        received_at=row["received_at"],
        due_at=row["due_at"],
        sent_at=row["sent_at"],
        result_at=row["resolved_at"] or _given_back_at(row),
        returned_at=row["returned_at"],
        note=_note(row, now),
    )


def tracking_book(
    user: User | None, office_id: int, first_day: date, last_day: date, *, now: datetime
) -> BookData:
    """The book of the office for the days ``first_day`` to ``last_day`` (Vietnam time), the
    dossiers in order of receipt, at most :data:`MAX_ROWS` of them.

    Raises LookupError when the office is not one whose book the person may keep, and
    ValueError for a period :func:`check_days` refuses.
    """
    check_days(first_day, last_day)
    office = book_offices(user).filter(pk=office_id).first()
    if office is None:
        raise LookupError(office_id)
    found = list(_rows(office, user, first_day, last_day)[: MAX_ROWS + 1])
    regime = regime_of(_midnight(last_day))
    return BookData(
        office_id=office.pk,
        office_name=office.name,
        parent_name=office.parent.name if office.parent else "",
        first_day=first_day,
        last_day=last_day,
        rows=[_book_row(row, now) for row in found[:MAX_ROWS]],
        truncated=len(found) > MAX_ROWS,
        form_number=BOOK_FORM[regime],
        printed_at=now,
    )
