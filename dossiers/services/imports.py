"""Importing dossiers from an upload or the API, as a person: bounded, row by row, scoped.

The command line, the browser upload and the JSON API all end in
:func:`dossiers.services.registry.import_rows`; this module reads an upload (CSV or
JSON) within bounds and runs the rows with the offices where the person is a clerk.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from dossiers.errors import RegistrationError
from dossiers.models import Role
from dossiers.services.access import office_ids
from dossiers.services.registry import (
    CSV_COLUMNS,
    ImportOutcome,
    Registered,
    import_rows,
    read_csv_stream,
)

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "ImportReport",
    "import_as",
    "read_upload",
    "rows_from_json",
]

MAX_BYTES = 1024 * 1024
"""The largest file a clerk may upload: 1 MiB (a few thousand rows)."""

MAX_ROWS = 500
"""The most rows one import registers; a longer list is refused whole, before any row."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did: every row's outcome, in order."""

    outcomes: list[ImportOutcome]

    @property
    def registered(self) -> list[Registered]:
        return [o.registered for o in self.outcomes if o.registered is not None]

    @property
    def refused(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.registered is None]

    def rows(self) -> list[dict[str, Any]]:
        """The outcomes as plain data (no secret): line, code, ok, error, dossier id, due date."""
        return [
            {
                "line": o.line,
                "code": o.code,
                "ok": o.registered is not None,
                "error": o.error_vi,
                "dossier_id": o.registered.dossier.pk if o.registered else None,
                "due_at": o.registered.dossier.due_at.isoformat() if o.registered else "",
            }
            for o in self.outcomes
        ]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise RegistrationError("Giá trị trong tệp JSON phải là chuỗi hoặc số.")


def rows_from_json(items: object) -> list[dict[str, str]]:
    """The rows of a JSON import: a list of objects, or ``{"dossiers": [...]}``."""
    if isinstance(items, Mapping):
        items = items.get("dossiers")
    if not isinstance(items, list):
        raise RegistrationError(
            'Tệp JSON phải là một danh sách hồ sơ, hoặc {"dossiers": [...]}, mỗi hồ sơ có các '
            "trường: " + ", ".join(CSV_COLUMNS) + "."
        )
    _bounded(len(items))
    rows = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            raise RegistrationError(f"Hồ sơ thứ {number} trong tệp JSON không phải một đối tượng.")
        rows.append({column: _text(item.get(column)) for column in CSV_COLUMNS})
    return rows


def _bounded(count: int) -> None:
    if count > MAX_ROWS:
        raise RegistrationError(
            f"Tệp có {count} hồ sơ, nhiều hơn {MAX_ROWS} hồ sơ mỗi lần nhập. Hãy chia nhỏ tệp."
        )


def read_upload(name: str, data: bytes) -> tuple[list[dict[str, str]], int]:
    """The rows of an uploaded file (CSV or JSON, by its name) and the first row's number.

    Refuses (RegistrationError) a file over :data:`MAX_BYTES`, not UTF-8, malformed,
    or with more than :data:`MAX_ROWS` rows.
    """
    if len(data) > MAX_BYTES:
        raise RegistrationError(
            f"Tệp lớn hơn {MAX_BYTES // 1024} KB; hãy chia thành nhiều tệp nhỏ hơn."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegistrationError("Tệp không phải văn bản UTF-8; hãy lưu lại với mã UTF-8.") from exc
    if name.lower().endswith(".json"):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise RegistrationError(f"Tệp JSON không đọc được: {exc}.") from exc
        return rows_from_json(parsed), 1
    if not name.lower().endswith(".csv"):
        raise RegistrationError("Chỉ nhận tệp .csv hoặc .json.")
    try:
        rows = list(read_csv_stream(io.StringIO(text, newline="")))
    except Exception as exc:  # csv.Error and its kin: the file, not the server, is wrong
        if isinstance(exc, RegistrationError):
            raise
        raise RegistrationError(f"Tệp CSV không đọc được: {exc}.") from exc
    _bounded(len(rows))
    return rows, 2


def import_as(
    user: AbstractBaseUser | AnonymousUser,
    rows: Iterable[dict[str, str]],
    *,
    first_line: int = 2,
) -> ImportReport:
    """Register ``rows`` in the offices where ``user`` is a clerk; others refused row by row."""
    allowed = office_ids(user, Role.CLERK)
    outcomes = import_rows(
        rows, actor=user.get_username(), office_ids=allowed, first_line=first_line
    )
    return ImportReport(outcomes=list(outcomes))
