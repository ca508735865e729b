"""Dossier codes in the national pattern: agency identifier, receipt date, daily sequence."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.db.models import F

from core.vntime import VN_TZ
from dossiers.errors import RegistrationError
from dossiers.models import DossierSequence, Office

__all__ = ["format_code", "next_code", "receipt_day"]


def receipt_day(received_at: datetime) -> date:
    """The day of receipt as the office's wall calendar shows it (Vietnam time)."""
    return received_at.astimezone(VN_TZ).date()


def format_code(agency_code: str, day: date, number: int) -> str:
    """``000.00.14.H56-251201-0007``: agency, yymmdd, the day's number in at least 4 digits."""
    return f"{agency_code}-{day:%y%m%d}-{number:04d}"


def next_code(office: Office, received_at: datetime) -> str:
    """Take the next code of ``office``'s agency for the day of ``received_at``.

    Call inside the transaction that creates the dossier: the counter row stays locked
    by its ``UPDATE`` until that transaction ends, so concurrent registrations queue for
    it (PostgreSQL row lock; SQLite's write lock), and a registration that fails gives
    its number back. Raises :class:`RegistrationError` when the office has no agency
    identifier.
    """
    agency = office.agency_code.strip()
    if not agency:
        raise RegistrationError(
            f"Cơ quan {office.name} chưa có mã định danh điện tử (ví dụ 000.00.14.H56) nên "
            "không sinh được mã hồ sơ. Đề nghị quản trị viên điền mã định danh của cơ quan, "
            "hoặc nhập mã hồ sơ do hệ thống một cửa cấp."
        )
    day = receipt_day(received_at)
    with transaction.atomic():
        # ON CONFLICT DO NOTHING: the first registration of the day makes the row, a
        # concurrent one waits for it and then finds it.
        DossierSequence.objects.bulk_create(
            [DossierSequence(agency_code=agency, day=day, last=0)], ignore_conflicts=True
        )
        rows = DossierSequence.objects.filter(agency_code=agency, day=day)
        rows.update(last=F("last") + 1)
        number = rows.values_list("last", flat=True).get()
    return format_code(agency, day, number)
