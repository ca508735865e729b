"""Registering dossiers: due date, lookup secret, and import from the one-stop system's CSV."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.vntime import VN_TZ
from dossiers.calendar import due_at
from dossiers.errors import RegistrationError
from dossiers.models import CalendarDay, Dossier, Office, Procedure, hash_secret
from dossiers.phones import normalise_phone
from dossiers.receipt import ReceiptData, render_receipt
from dossiers.services.codes import next_code
from dossiers.services.workflow import record_event

CSV_COLUMNS = ("code", "office", "procedure", "applicant_name", "email", "phone", "received_at")

CODE_ATTEMPTS = 50
"""How many numbers a generated code may skip over codes already taken (imported as given)."""


@dataclass(frozen=True)
class Registered:
    dossier: Dossier
    secret: str = field(repr=False)
    """The lookup secret in clear: shown once on the receipt, never stored."""


def receipt_pdf(registered: Registered) -> bytes:
    """The printable receipt of a just-registered dossier, with its secret (shown only there)."""
    dossier = registered.dossier
    return render_receipt(
        ReceiptData(
            dossier_code=dossier.code,
            office_name=dossier.office.name,
            procedure_name=dossier.procedure.name,
            applicant_name=dossier.applicant_name,
            received_at=dossier.received_at,
            due_at=dossier.due_at,
            lookup_secret=registered.secret,
            lookup_url=f"{settings.PUBLIC_BASE_URL}/tra-cuu/",
        )
    )


def new_secret() -> str:
    """A lookup secret of 160 random bits, easy to type: 32 base32 characters."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(32))


def normalise_secret(secret: str) -> str:
    """Accept the secret as printed (grouped, any case) or as typed."""
    return "".join(ch for ch in secret.upper() if ch.isalnum())


def check_code(code: str) -> str:
    """``code`` stripped, or RegistrationError when it is empty or cannot name a folder."""
    code = code.strip()
    if not code:
        raise RegistrationError("Thiếu mã hồ sơ.")
    # The scans come in a folder named after the code, and the receipt file carries it.
    if "/" in code or "\\" in code or code in {".", ".."} or not code.isprintable():
        raise RegistrationError(
            f"Mã hồ sơ '{code}' không dùng được làm tên thư mục bản quét "
            "(không được chứa ký tự / hoặc \\)."
        )
    return code


def check_email(email: str) -> str:
    """``email`` stripped, or RegistrationError in Vietnamese when it is no address."""
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise RegistrationError(
                f"Thư điện tử '{email[:64]}' không hợp lệ (ví dụ: ten@example.vn)."
            ) from exc
    return email


def register_dossier(
    *,
    code: str | None = None,
    office: Office,
    procedure: Procedure,
    applicant_name: str,
    email: str = "",
    phone: str = "",
    received_at: datetime | None = None,
    actor: str = "",
) -> Registered:
    """Create a dossier with its due date and a fresh lookup secret.

    ``code`` None: the next code of the office's agency for the day of receipt
    (:mod:`dossiers.services.codes`); a code given (typed, imported) is kept as given.
    The phone is stored in national form, the email checked.
    """
    given = None if code is None else check_code(code)
    if procedure.office_id != office.pk:
        raise RegistrationError(f"Thủ tục {procedure.code} không thuộc cơ quan {office.code}.")
    email = check_email(email)
    phone = normalise_phone(phone)
    received = received_at or timezone.now()
    if timezone.is_naive(received):
        received = received.replace(tzinfo=VN_TZ)
    due = due_at(received, procedure.limit_working_days, CalendarDay.work_calendar())
    secret = new_secret()
    with transaction.atomic():
        dossier = Dossier(
            office=office,
            procedure=procedure,
            applicant_name=applicant_name.strip(),
            email=email,
            phone=phone,
            received_at=received,
            due_at=due,
            secret_hash=hash_secret(normalise_secret(secret)),
        )
        _insert(dossier, given)
        detail = {"due_at": due.isoformat(), "code_generated": given is None}
        record_event(dossier, "registered", actor=actor, detail=detail)
    return Registered(dossier=dossier, secret=secret)


def _insert(dossier: Dossier, given: str | None) -> None:
    """Insert ``dossier`` under ``given``, or under the next generated code that is free."""
    for _ in range(1 if given is not None else CODE_ATTEMPTS):
        dossier.code = (
            given if given is not None else next_code(dossier.office, dossier.received_at)
        )
        try:
            with transaction.atomic():  # a savepoint: the counter keeps its step on a clash
                dossier.save(force_insert=True)
        except IntegrityError as exc:
            if given is not None:
                raise RegistrationError(f"Mã hồ sơ {given} đã tồn tại.") from exc
        else:
            return
    raise RegistrationError(
        f"Không sinh được mã hồ sơ mới: {CODE_ATTEMPTS} mã liền nhau đã có. Đề nghị quản trị "
        "viên kiểm tra mã định danh của cơ quan."
    )


def _parse_received(raw: str) -> datetime:
    raw = raw.strip()
    if not raw:
        return timezone.now()
    try:
        # parse_datetime raises ValueError for a well-formed impossible date (30/02).
        parsed = parse_datetime(raw) or datetime.strptime(raw, "%d/%m/%Y %H:%M")
    except ValueError as exc:
        raise RegistrationError(
            f"Thời điểm tiếp nhận '{raw}' không đúng định dạng "
            "(YYYY-MM-DD HH:MM hoặc DD/MM/YYYY HH:MM)."
        ) from exc
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=VN_TZ)
    return parsed


@dataclass(frozen=True)
class ImportOutcome:
    line: int
    code: str
    registered: Registered | None
    error_vi: str = ""


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    """Yield the CSV's rows, checking its header first."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        yield from read_csv_stream(fh)


def read_csv_stream(stream: TextIO) -> Iterator[dict[str, str]]:
    """Yield the rows of CSV text, checking its header first."""
    reader = csv.DictReader(stream)
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RegistrationError(
            "Tệp CSV thiếu cột: " + ", ".join(missing) + ". Cần đủ: " + ",".join(CSV_COLUMNS)
        )
    yield from reader


def import_rows(
    rows: Iterable[dict[str, str]],
    *,
    actor: str = "",
    office_ids: frozenset[int] | None = None,
    first_line: int = 2,
) -> Iterator[ImportOutcome]:
    """Register each row; a bad row is reported and the import carries on.

    ``office_ids``: the offices the importing person may register in (None: any, for
    the command line); a row of another office is refused as if that office did not
    exist, so its existence stays hidden. A row without a code gets a generated one.
    ``first_line`` numbers the rows (2 for a CSV under its header, 1 for JSON items).
    """
    for line, row in enumerate(rows, start=first_line):
        code = (row.get("code") or "").strip()
        try:
            office = Office.objects.filter(code=(row.get("office") or "").strip()).first()
            if office is None or (office_ids is not None and office.pk not in office_ids):
                raise RegistrationError(
                    f"Không có cơ quan mã '{row.get('office', '')}'"
                    + (" trong các cơ quan bạn tiếp nhận." if office_ids is not None else ".")
                )
            procedure = office.procedures.filter(code=(row.get("procedure") or "").strip()).first()
            if procedure is None:
                raise RegistrationError(
                    f"Cơ quan {office.code} không có thủ tục mã '{row.get('procedure', '')}'."
                )
            if not (row.get("applicant_name") or "").strip():
                raise RegistrationError("Thiếu tên người nộp hồ sơ.")
            registered = register_dossier(
                code=code or None,
                office=office,
                procedure=procedure,
                applicant_name=row["applicant_name"],
                email=row.get("email") or "",
                phone=row.get("phone") or "",
                received_at=_parse_received(row.get("received_at") or ""),
                actor=actor,
            )
        except RegistrationError as exc:
            yield ImportOutcome(line=line, code=code, registered=None, error_vi=exc.message_vi)
        else:
            yield ImportOutcome(line=line, code=registered.dossier.code, registered=registered)
