"""Registering dossiers: due date, lookup secret, and import from the one-stop system's CSV."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.vntime import VN_TZ
from dossiers.calendar import due_at
from dossiers.errors import RegistrationError
from dossiers.models import CalendarDay, Dossier, Office, Procedure, hash_secret
from dossiers.receipt import ReceiptData, render_receipt
from dossiers.services.workflow import record_event

CSV_COLUMNS = ("code", "office", "procedure", "applicant_name", "email", "phone", "received_at")


@dataclass(frozen=True)
class Registered:
    dossier: Dossier
    secret: str
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


def register_dossier(
    *,
    code: str,
    office: Office,
    procedure: Procedure,
    applicant_name: str,
    email: str = "",
    phone: str = "",
    received_at: datetime | None = None,
    actor: str = "",
) -> Registered:
    """Create a dossier with its due date and a fresh lookup secret."""
    code = code.strip()
    if not code:
        raise RegistrationError("Thiếu mã hồ sơ.")
    # The scans come in a folder named after the code, and the receipt file carries it.
    if "/" in code or "\\" in code or code in {".", ".."} or not code.isprintable():
        raise RegistrationError(
            f"Mã hồ sơ '{code}' không dùng được làm tên thư mục bản quét "
            "(không được chứa ký tự / hoặc \\)."
        )
    if procedure.office_id != office.pk:
        raise RegistrationError(f"Thủ tục {procedure.code} không thuộc cơ quan {office.code}.")
    received = received_at or timezone.now()
    if timezone.is_naive(received):
        received = received.replace(tzinfo=VN_TZ)
    due = due_at(received, procedure.limit_working_days, CalendarDay.work_calendar())
    secret = new_secret()
    try:
        with transaction.atomic():
            dossier = Dossier.objects.create(
                code=code,
                office=office,
                procedure=procedure,
                applicant_name=applicant_name.strip(),
                email=email.strip(),
                phone=phone.strip(),
                received_at=received,
                due_at=due,
                secret_hash=hash_secret(normalise_secret(secret)),
            )
            record_event(dossier, "registered", actor=actor, detail={"due_at": due.isoformat()})
    except IntegrityError as exc:
        raise RegistrationError(f"Mã hồ sơ {code} đã tồn tại.") from exc
    return Registered(dossier=dossier, secret=secret)


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
        reader = csv.DictReader(fh)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise RegistrationError(
                "Tệp CSV thiếu cột: " + ", ".join(missing) + ". Cần đủ: " + ",".join(CSV_COLUMNS)
            )
        yield from reader


def import_rows(rows: Iterable[dict[str, str]], *, actor: str = "") -> Iterator[ImportOutcome]:
    """Register each row; a bad row is reported and the import carries on."""
    for line, row in enumerate(rows, start=2):
        code = (row.get("code") or "").strip()
        try:
            office = Office.objects.filter(code=(row.get("office") or "").strip()).first()
            if office is None:
                raise RegistrationError(f"Không có cơ quan mã '{row.get('office', '')}'.")
            procedure = office.procedures.filter(code=(row.get("procedure") or "").strip()).first()
            if procedure is None:
                raise RegistrationError(
                    f"Cơ quan {office.code} không có thủ tục mã '{row.get('procedure', '')}'."
                )
            if not (row.get("applicant_name") or "").strip():
                raise RegistrationError("Thiếu tên người nộp hồ sơ.")
            registered = register_dossier(
                code=code,
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
            yield ImportOutcome(line=line, code=code, registered=registered)
