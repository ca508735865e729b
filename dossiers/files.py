"""Files on disk: the content-addressed store and the failed/ folder with its reason files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from core.files import fsync_folder, write_atomically
from core.vntime import VN_TZ

REASON_FILE = "LY_DO.txt"
CHUNK = 1 << 20
#: The prefix claiming puts before a folder's name in the intake archive: 12 hex digits, "-".
ARCHIVE_PREFIX = re.compile(r"^[0-9a-f]{12}-")

CLERK_ACTION_VI = "kiểm tra lại tệp, quét lại nếu cần, rồi đặt lại vào thư mục tiếp nhận."
"""What a clerk does with a refused input (bad scans, an unknown dossier)."""

ADMIN_ACTION_VI = (
    "lỗi cần quản trị viên xử lý (cấu hình, máy chủ); báo quản trị viên, sau khi khắc phục "
    "đặt lại thư mục này vào thư mục tiếp nhận."
)
"""What a clerk does with an input that failed for a reason a person must fix on the server."""


def original_name(archived: Path) -> str:
    """The name a clerk gave a folder, without the prefix it got in the intake archive."""
    return ARCHIVE_PREFIX.sub("", archived.name, count=1) or archived.name


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def store_file(src: Path, store_dir: Path, suffix: str = ".pdf") -> tuple[Path, str]:
    """Move a finished file into the content-addressed store; return its path and SHA-256.

    Storing the same content twice is harmless: the second copy is dropped.
    """
    digest = sha256_file(src)
    dest = store_dir / digest[:2] / f"{digest}{suffix}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        src.unlink(missing_ok=True)
    else:
        os.replace(src, dest)
        fsync_folder(dest.parent)
    return dest, digest


def store_bytes(data: bytes, store_dir: Path, suffix: str = ".pdf") -> tuple[Path, str]:
    """Write bytes into the content-addressed store atomically; return its path and SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    dest = store_dir / digest[:2] / f"{digest}{suffix}"
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(dest, data)
    return dest, digest


def quarantine(
    src: Path,
    failed_dir: Path,
    reason_vi: str,
    *,
    detail: dict[str, str] | None = None,
    name: str | None = None,
    action_vi: str = CLERK_ACTION_VI,
) -> Path:
    """Move a file or folder into failed/ beside a reason file a clerk can read.

    Nothing is deleted: the files keep their names inside a dated folder. ``name``
    is the name the moved file or folder gets there (default: its own), so that a
    folder renamed on claiming gets back the name the clerk gave it and can be
    dropped into the inbox again as it is.
    """
    name = name or src.name
    stamp = datetime.now(UTC).astimezone(VN_TZ).strftime("%Y%m%d-%H%M%S")
    dest = failed_dir / f"{stamp}-{name}"
    n = 1
    while dest.exists():
        n += 1
        dest = failed_dir / f"{stamp}-{name}-{n}"
    dest.mkdir(parents=True)
    if src.exists():
        shutil.move(str(src), str(dest / name))
    write_reason(dest, reason_vi, detail=detail, action_vi=action_vi)
    return dest


def write_reason(
    folder: Path,
    reason_vi: str,
    *,
    detail: dict[str, str] | None = None,
    action_vi: str = CLERK_ACTION_VI,
) -> None:
    """Write the clerk-readable reason file (and a JSON twin for tools) into a folder."""
    when = datetime.now(UTC).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S")
    (folder / REASON_FILE).write_text(
        f"Thời điểm: {when}\nLý do: {reason_vi}\nCách xử lý: {action_vi}\n",
        encoding="utf-8",
    )
    (folder / "reason.json").write_text(
        json.dumps({"reason": reason_vi, **(detail or {})}, ensure_ascii=False, indent=2),
        encoding="utf-8",
    )
