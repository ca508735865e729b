"""The watched folders as the watcher runs them: rows of the admin, checked at start."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings

from watch_folders.errors import WatchConfigError
from watch_folders.layouts import INCOMING, FolderConfig, is_network_path, overlaps
from watch_folders.models import WatchedFolder, output_folders

__all__ = ["check_folders", "load_folders", "needs_polling"]

log = logging.getLogger(__name__)


def needs_polling(path: Path, forced: bool = False) -> bool:
    """Whether a folder is polled: asked for, set for the service, or on a network share."""
    return forced or settings.WATCH_POLLING or is_network_path(path)


def load_folders() -> list[FolderConfig]:
    """The active watched folders of incoming papers; folders of results to sign are only
    recorded (the signing intake from a folder does not exist yet) and are not watched."""
    folders = []
    rows = WatchedFolder.objects.filter(active=True).select_related("office", "procedure")
    for row in rows.order_by("pk"):
        if row.kind != INCOMING:
            log.warning(
                "watched folder %s (%s) holds results to sign: recorded only, not watched",
                row.pk,
                row.folder,
            )
            continue
        folders.append(
            FolderConfig(
                path=row.folder,
                office_code=row.office.code,
                layout=row.layout,
                kind=row.kind,
                pattern=row.file_pattern,
                procedure_code=row.procedure.code if row.procedure else "",
                settle_s=float(row.settle_seconds) if row.settle_seconds is not None else None,
                polling=needs_polling(row.folder, row.polling),
                folder_id=row.pk,
            )
        )
    return folders


def check_folders(folders: list[FolderConfig]) -> list[FolderConfig]:
    """Refuse (:class:`WatchConfigError`) a configuration that would watch what motcua
    writes, or watch one folder inside another; return the folders with the inbox's own
    ones left to the inbox (a row for ``inbox/<office>/`` is not watched twice)."""
    inbox = Path(settings.INBOX_DIR)
    inside_inbox = [f for f in folders if f.path.parent == inbox]
    others = [f for f in folders if f.path.parent != inbox]
    problems = overlaps([inbox, *(f.path for f in others)], output_folders())
    paths = [f.path for f in inside_inbox]
    problems += [f"Thư mục {p} được khai báo nhiều lần." for p in set(paths) if paths.count(p) > 1]
    if problems:
        raise WatchConfigError(
            "Không thể theo dõi thư mục theo cấu hình hiện tại: "
            + " ".join(problems)
            + " Hãy sửa đường dẫn trong trang quản trị “Thư mục theo dõi” rồi khởi động lại.",
            detail="; ".join(problems),
        )
    for folder in others:
        if not folder.path.is_dir():
            log.warning("watched folder %s does not exist yet; created", folder.path)
            folder.path.mkdir(parents=True, exist_ok=True)
    return inside_inbox + others
