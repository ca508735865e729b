"""The result email: a Vietnamese body, the signed PDF or a link, and a stable Message-ID."""

from __future__ import annotations

import urllib.parse
from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from core.vntime import to_vn
from dossiers.calendar import TIMELINESS_LABELS_VI
from dossiers.models import Document, Dossier
from publishing.models import OutboxMessage
from publishing.services.rating import RATING_VALID, rating_link

__all__ = ["compose_email", "lookup_url", "message_id", "message_key", "send_email"]


def message_key(row: OutboxMessage, document: Document) -> str:
    """The identity of one outbox message, the same on every try: ``outbox-12-3f5a…``."""
    return f"outbox-{row.pk}-{document.signed_sha256[:12]}"


def message_id(row: OutboxMessage, document: Document) -> str:
    """The email's ``Message-ID``, derived from the row: a resend carries the same one."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{message_key(row, document)}@{domain}>"


def lookup_url(dossier: Dossier) -> str:
    """The public lookup page with the dossier's code filled in (the secret is still asked)."""
    query = urllib.parse.urlencode({"ma": dossier.code})
    return f"{settings.PUBLIC_BASE_URL}/tra-cuu/?{query}"


def _when(dossier: Dossier) -> str:
    if dossier.resolved_at is None:
        return "chưa có kết quả"
    resolved = to_vn(dossier.resolved_at)
    label = TIMELINESS_LABELS_VI[dossier.timeliness] if dossier.timeliness else ""
    due = to_vn(dossier.due_at)
    return (
        f"{resolved:%H:%M} ngày {resolved:%d/%m/%Y} (giờ Việt Nam), "
        f"{label.lower()} (hẹn trả {due:%d/%m/%Y})"
    )


def _body(dossier: Dossier, *, attached: bool, size: int) -> str:
    office = dossier.office.name
    lookup = lookup_url(dossier)
    if attached:
        result = f"Kết quả có chữ ký số được đính kèm thư này (tệp ket-qua-{dossier.code}.pdf)."
    else:
        result = (
            f"Tệp kết quả có chữ ký số ({size / 1024 / 1024:.1f} MB) lớn hơn mức gửi kèm thư. "
            f"Ông/bà tải về tại {lookup} bằng mã tra cứu in trên giấy hẹn."
        )
    link = rating_link(dossier)
    rating = (
        "\nMời ông/bà đánh giá mức độ hài lòng với việc giải quyết hồ sơ "
        f"(một lần, trong {RATING_VALID.days} ngày):\n{link}\n"
        if link
        else ""
    )
    return (
        f"Kính gửi ông/bà {dossier.applicant_name},\n\n"
        f"{office} đã có kết quả giải quyết hồ sơ của ông/bà.\n\n"
        f"  Mã hồ sơ: {dossier.code}\n"
        f"  Thủ tục: {dossier.procedure.name}\n"
        f"  Có kết quả lúc: {_when(dossier)}\n\n"
        f"{result}\n\n"
        f"Kiểm tra chữ ký số: {settings.PUBLIC_BASE_URL}/kiem-tra/\n"
        f"Tra cứu hồ sơ: {lookup}\n"
        f"{rating}\n"
        f"Trân trọng,\n{office}\n\n"
        "(Thư gửi tự động, xin đừng trả lời thư này.)\n"
    )


def compose_email(row: OutboxMessage, document: Document) -> EmailMessage:
    """The email of outbox ``row`` for ``document``, with the same Message-ID on every try."""
    dossier = document.dossier
    path = Path(document.signed_path)
    size = path.stat().st_size
    attached = size <= settings.EMAIL_ATTACHMENT_MAX_BYTES
    message = EmailMessage(
        subject=f"Kết quả giải quyết hồ sơ {dossier.code}",
        body=_body(dossier, attached=attached, size=size),
        to=[row.recipient],
        headers={"Message-ID": message_id(row, document)},
    )
    if attached:
        message.attach(f"ket-qua-{dossier.code}.pdf", path.read_bytes(), "application/pdf")
    return message


def send_email(row: OutboxMessage, document: Document) -> None:
    """Send the email of ``row``; returns once the server accepted it, or raises."""
    message = compose_email(row, document)
    message.connection = get_connection(fail_silently=False)
    if message.send() != 1:
        raise ConnectionError("the mail backend sent nothing")
