"""The head signs a letter to the citizen (forms 02–05) with their key, through the batch engine."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from audit.services.record import Action, record
from core.queue import enqueue
from dossiers.files import store_file
from dossiers.models import Letter, Role
from dossiers.services.access import has_role
from dossiers.services.letters import approve_letter, mark_signed
from signing.engine.jobs import SignJob
from signing.engine.run import sign_batch
from signing.errors import ApprovalError
from signing.models import Signer
from signing.services.approval import check_key
from signing.services.options import office_sign_options, stamp_text

__all__ = ["letter_signer", "prepare_letter", "sign_letter"]

log = logging.getLogger(__name__)


def letter_signer(user: User, office_id: int) -> Signer:
    """The head's signer row for the office, or an ApprovalError: letters are signed by the
    office's head (a Membership as head) holding an active Signer with a key."""
    signer = Signer.objects.filter(user=user, office=office_id, active=True).first()
    if signer is None or not has_role(user, Role.HEAD, office=office_id):
        raise ApprovalError(
            f"Tài khoản {user.get_username()} không phải thủ trưởng có khóa ký của cơ quan này."
        )
    return signer


def prepare_letter(letter: Letter, user: User) -> Path:
    """Approve the letter's text and render its PDF/A with the head's name and position."""
    signer = letter_signer(user, letter.dossier.office_id)
    return approve_letter(
        letter,
        signer_title=signer.title or "Thủ trưởng cơ quan",
        signer_name=signer.display_name,
        user=user,
    )


def sign_letter(letter: Letter, user: User, key: Any) -> str:
    """Sign the approved letter with the head's unlocked ``key``, as a batch of its own.

    The bytes read are the bytes hashed and signed; the signed PDF enters the store,
    the letter becomes SIGNED (an apology moves the due date), and its delivery to the
    citizen is queued once the transaction commits. Returns the signed file's SHA-256.
    """
    letter = Letter.objects.select_related("dossier__office").get(pk=letter.pk)
    if letter.state != Letter.State.APPROVED or not letter.pdf_path:
        raise ApprovalError("Văn bản chưa được duyệt nội dung, hoặc đã ký.")
    office = letter.dossier.office
    signer = letter_signer(user, office.pk)
    check_key(signer, key)
    data = Path(letter.pdf_path).read_bytes()
    stamp = stamp_text(
        signer_name=signer.display_name,
        office=office,
        procedure=None,
        signature_image=signer.signature_path,
        seal_image=signer.seal_path,
    )
    output = Path(settings.WORK_DIR) / "signing" / f"letter-{letter.pk}.pdf"
    output.parent.mkdir(parents=True, exist_ok=True)
    result = sign_batch(
        key,
        [SignJob(source=data, output=output, stamp=stamp)],
        office_sign_options(office, stamp),
        processes=1,
    )
    outcome = result.outcomes[0]
    if not outcome.ok:
        raise ApprovalError(outcome.message_vi or "Không ký được văn bản.")
    signed_path, digest = store_file(output, Path(settings.STORE_DIR))
    with transaction.atomic():
        if mark_signed(letter, signed_path, digest, actor=user.get_username()):
            record(
                Action.SIGNED,
                actor=user,
                office=office.pk,
                obj=letter,
                sha256=digest,
                detail={
                    "letter": letter.pk,
                    "form": letter.form,
                    "source_sha256": hashlib.sha256(data).hexdigest(),
                },
            )
            transaction.on_commit(lambda: enqueue("publishing.tasks.deliver_letter", letter.pk))
    return digest
