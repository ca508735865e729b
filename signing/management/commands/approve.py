"""``motcua approve BATCH_ID``: approve a batch and sign it here, with the official's key."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import BAD_INPUT, exit_code
from signing.errors import SigningError
from signing.keys.pkcs12 import read_passphrase_file
from signing.models import Batch
from signing.services.approval import signer_for, unlock_key
from signing.services.batch_run import Progress, approve_batch

OUTCOME_VI = {"signed": "đã ký", "rejected": "từ chối", "skipped": "bỏ qua", "approved": "đã duyệt"}


class Command(BaseCommand):
    help = (
        "Phê duyệt và ký số một lô. Mật khẩu khóa (hoặc mã PIN thiết bị ký số) được hỏi "
        "(không hiện) hoặc đọc từ --passphrase-file; nó chỉ ở trong tiến trình này."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("batch_id", type=int)
        parser.add_argument("--passphrase-file", type=Path)
        parser.add_argument("--user", help="tài khoản người ký (mặc định: người ký của lô)")
        parser.add_argument(
            "--reject",
            action="append",
            default=[],
            metavar="DOC_ID:LÝ_DO",
            help="từ chối một tài liệu với lý do (lặp lại được)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        batch = (
            Batch.objects.select_related("office", "signer__user")
            .filter(pk=opts["batch_id"])
            .first()
        )
        if batch is None:
            raise CommandError(f"Không có lô ký #{opts['batch_id']}.", returncode=BAD_INPUT)
        if opts["user"]:
            user = User.objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"Không có tài khoản {opts['user']}.", returncode=BAD_INPUT)
        elif batch.signer is not None:
            user = batch.signer.user
        else:
            raise CommandError("Lô chưa có người ký; dùng --user.", returncode=BAD_INPUT)
        rejections: dict[int, str] = {}
        for raw in opts["reject"]:
            doc, _, reason = raw.partition(":")
            if not doc.isdigit() or not reason.strip():
                raise CommandError(
                    f"--reject cần dạng DOC_ID:LÝ_DO, nhận được '{raw}'.", returncode=BAD_INPUT
                )
            rejections[int(doc)] = reason.strip()
        try:
            signer = signer_for(user, batch)
            what = "Mã PIN thiết bị ký số" if signer.on_token else "Mật khẩu khóa ký"
            if opts["passphrase_file"]:
                secret = read_passphrase_file(opts["passphrase_file"])
            else:
                secret = getpass.getpass(f"{what} của {signer.display_name}: ").encode()
            try:
                unlocked = unlock_key(signer, secret)
            finally:
                del secret
            with unlocked:
                results = approve_batch(
                    batch,
                    user,
                    unlocked.signer,
                    rejections=rejections,
                    progress=self._show,
                    processes=unlocked.processes,
                )
        except SigningError as exc:  # ApprovalError too
            raise CommandError(exc.message_vi, returncode=exit_code(exc)) from exc
        signed = sum(1 for r in results if r.outcome == "signed")
        rejected = sum(1 for r in results if r.outcome == "rejected")
        self.stdout.write(
            f"Lô #{batch.pk}: đã ký {signed}, từ chối {rejected}, tổng {len(results)}."
        )

    def _show(self, step: Progress) -> None:
        width = 30
        filled = int(width * step.done / max(step.total, 1))
        bar = "█" * filled + "·" * (width - filled)
        sys.stderr.write(
            f"\r[{bar}] {step.done}/{step.total} tài liệu #{step.document_id}: "
            f"{OUTCOME_VI.get(step.outcome, step.outcome)}   "
        )
        if step.done == step.total:
            sys.stderr.write("\n")
        sys.stderr.flush()
