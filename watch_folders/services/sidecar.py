"""Sidecars: a ``dossier.json`` (or one CSV row) beside the scans registers an unknown dossier.

A dossier received by the province's one-stop system arrives with its data beside its
scans. The data goes through the same validation as ``motcua import-dossiers`` and the
upload (:func:`dossiers.services.imports.read_upload`,
:func:`dossiers.services.registry.import_rows`); the receipt with the lookup secret is
written under ``<data>/receipts/<office>/`` (readable by the service user only).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from django.conf import settings

from core.files import write_atomically
from dossiers.errors import RegistrationError
from dossiers.models import Dossier, Office
from dossiers.services.imports import MAX_BYTES, read_upload
from dossiers.services.registry import import_rows, receipt_pdf
from watch_folders.layouts import FolderConfig

__all__ = ["SIDECAR_NAMES", "find_sidecar", "hide_sidecar", "register_from_sidecar"]

log = logging.getLogger(__name__)

SIDECAR_NAMES = ("dossier.json", "dossier.csv")
"""The names of a sidecar inside a dossier's folder (any case)."""

ACTOR = "thư mục theo dõi"
"""Who registered a dossier from a sidecar, as its events say."""


def find_sidecar(folder: Path) -> Path | None:
    """The sidecar among a folder's files, if any."""
    for path in sorted(folder.iterdir()):
        if path.name.lower() in SIDECAR_NAMES and path.is_file() and not path.is_symlink():
            return path
    return None


def hide_sidecar(path: Path) -> None:
    """Keep a sidecar beside the scans under a hidden name, so it is not digitized."""
    path.rename(path.with_name(f".{path.name}"))


def _rows(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()[: MAX_BYTES + 1]
    if path.suffix.lower() == ".json":
        try:
            parsed = json.loads(data.decode("utf-8-sig"))
        except ValueError:
            parsed = None  # read_upload says what is wrong, in the import's words
        else:
            if isinstance(parsed, dict) and "dossiers" not in parsed:
                data = json.dumps([parsed], ensure_ascii=False).encode("utf-8")
    rows, _first = read_upload(path.name.lower(), data)
    if len(rows) != 1:
        raise RegistrationError(f"Tệp cần đúng một hồ sơ, nhưng có {len(rows)}.")
    return rows


def _fill(row: dict[str, str], code: str, config: FolderConfig) -> dict[str, str]:
    """The row with the folder's code, office and default procedure where it says none."""
    given = (row.get("code") or "").strip()
    if given and given != code:
        raise RegistrationError(f"Mã hồ sơ trong tệp ({given}) khác mã trên tên tệp ({code}).")
    office = (row.get("office") or "").strip()
    if office and office != config.office_code:
        raise RegistrationError(
            f"Cơ quan trong tệp ({office}) khác cơ quan của thư mục ({config.office_code})."
        )
    procedure = (row.get("procedure") or "").strip() or config.procedure_code
    if not procedure:
        raise RegistrationError(
            "Tệp không ghi thủ tục (procedure) và thư mục chưa có thủ tục mặc định."
        )
    return {**row, "code": code, "office": config.office_code, "procedure": procedure}


def register_from_sidecar(path: Path, code: str, config: FolderConfig) -> Dossier:
    """Register the dossier ``code`` from its sidecar in the folder's office.

    Raises :class:`RegistrationError` (in the clerk's words) when the file is unreadable,
    holds other than one dossier, or fails the import's validation.
    """
    office = Office.objects.filter(code=config.office_code).first()
    if office is None:
        raise RegistrationError(f"Không có cơ quan mã '{config.office_code}'.")
    row = _fill(_rows(path)[0], code, config)
    outcome = next(import_rows([row], actor=ACTOR, office_ids=frozenset({office.pk})))
    if outcome.registered is None:
        raise RegistrationError(outcome.error_vi)
    receipts = Path(settings.DATA_DIR) / "receipts" / office.code
    receipts.mkdir(parents=True, exist_ok=True)
    write_atomically(receipts / f"giay-hen-{code}.pdf", receipt_pdf(outcome.registered), mode=0o600)
    log.info("dossier %s registered from its sidecar", code)
    return outcome.registered.dossier
