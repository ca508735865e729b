"""Celery tasks that publish a signed result and deliver it to the citizen."""

from __future__ import annotations

import logging
from pathlib import Path

from celery import Task, shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from core.vntime import VN_TZ
from dossiers.calendar import TIMELINESS_LABELS_VI
from dossiers.models import Document, DocumentState
from dossiers.services.recovery import stuck_documents
from dossiers.services.workflow import record_event, resolve_dossier, transition
from publishing.models import OutboxMessage
from publishing.sms import FileSmsBackend

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def publish_document(document_id: int) -> None:
    """Resolve the dossier, queue the citizen's messages and mark the result published."""
    document = Document.objects.select_related("dossier").get(pk=document_id)
    if document.state != DocumentState.SIGNED:
        if document.state == DocumentState.PUBLISHED:
            deliver_document.delay(document_id)
        return
    dossier = document.dossier
    with transaction.atomic():
        if not transition(
            document_id, DocumentState.SIGNED, DocumentState.PUBLISHED, kind="published"
        ):
            return
        resolve_dossier(dossier, document)
        if dossier.email:
            OutboxMessage.objects.get_or_create(
                document=document, channel=OutboxMessage.Channel.EMAIL
            )
        if dossier.phone:
            OutboxMessage.objects.get_or_create(
                document=document, channel=OutboxMessage.Channel.SMS
            )
        transaction.on_commit(lambda: deliver_document.delay(document_id))


def _email(document: Document) -> EmailMessage:
    dossier = document.dossier
    label = TIMELINESS_LABELS_VI[dossier.timeliness] if dossier.timeliness else ""
    resolved = (dossier.resolved_at or timezone.now()).astimezone(VN_TZ)
    body = (
        f"Kính gửi {dossier.applicant_name},\n\n"
        f"{dossier.office.name} đã có kết quả giải quyết hồ sơ {dossier.code} "
        f"({dossier.procedure.name}) lúc {resolved:%H:%M ngày %d/%m/%Y} ({label.lower()}).\n"
        "Kết quả có chữ ký số được đính kèm thư này. Ông/bà có thể kiểm tra chữ ký tại "
        f"{settings.PUBLIC_BASE_URL}/kiem-tra/ và tra cứu hồ sơ tại "
        f"{settings.PUBLIC_BASE_URL}/tra-cuu/ bằng mã hồ sơ và mã tra cứu in trên giấy hẹn.\n\n"
        "Trân trọng.\n"
    )
    message = EmailMessage(
        subject=f"Kết quả giải quyết hồ sơ {dossier.code}",
        body=body,
        to=[dossier.email],
    )
    message.attach(
        f"ket-qua-{dossier.code}.pdf", Path(document.signed_path).read_bytes(), "application/pdf"
    )
    return message


def _sms_text(document: Document) -> str:
    dossier = document.dossier
    return (
        f"{dossier.office.name}: ho so {dossier.code} da co ket qua. "
        f"Tra cuu tai {settings.PUBLIC_BASE_URL}/tra-cuu/"
    )


def delivery_owed(document_id: int) -> bool:
    """Whether delivering is still to be tried: not when it ran out of retries."""
    outbox = OutboxMessage.objects.filter(document_id=document_id)
    gave_up = outbox.filter(state=OutboxMessage.State.FAILED).exists()
    return not gave_up or outbox.filter(state=OutboxMessage.State.PENDING).exists()


@shared_task(bind=True, acks_late=True, max_retries=8)
def deliver_document(self: Task, document_id: int) -> None:  # type: ignore[type-arg]
    """Send each pending outbox message of a published document; retry on failure."""
    document = Document.objects.select_related(
        "dossier", "dossier__office", "dossier__procedure"
    ).get(pk=document_id)
    if document.state != DocumentState.PUBLISHED:
        return
    failures = 0
    for message in document.outbox.filter(state=OutboxMessage.State.PENDING):
        try:
            if message.channel == OutboxMessage.Channel.EMAIL:
                _email(document).send(fail_silently=False)
            else:
                FileSmsBackend(Path(settings.OUTBOX_DIR) / "sms").send(
                    document.dossier.phone, _sms_text(document)
                )
        except Exception as exc:
            failures += 1
            OutboxMessage.objects.filter(pk=message.pk).update(
                attempts=message.attempts + 1, last_error=type(exc).__name__
            )
            log.warning(
                "delivery of %s for document %s failed: %s",
                message.channel,
                document_id,
                type(exc).__name__,
            )
            continue
        OutboxMessage.objects.filter(pk=message.pk).update(
            state=OutboxMessage.State.SENT, attempts=message.attempts + 1, sent_at=timezone.now()
        )
    if failures:
        if self.request.retries < (self.max_retries or 0):
            raise self.retry(countdown=min(3600, 30 * 2**self.request.retries))
        # Out of retries: say so where staff look, and stop retrying. The result
        # stays published on the portal; an administrator can resend from the admin.
        failed = document.outbox.filter(state=OutboxMessage.State.PENDING)
        channels = sorted(failed.values_list("channel", flat=True))
        failed.update(state=OutboxMessage.State.FAILED)
        record_event(
            document.dossier, "delivery_failed", document=document, detail={"channels": channels}
        )
        return
    transition(document_id, DocumentState.PUBLISHED, DocumentState.DELIVERED, kind="delivered")


@shared_task
def recover_publishing() -> dict[str, int]:
    """Put back in line the signed results not yet published and the deliveries still owed."""
    counts: dict[str, int] = {}
    for document_id, _ in stuck_documents(DocumentState.SIGNED):
        publish_document.delay(document_id)
        counts["SIGNED"] = counts.get("SIGNED", 0) + 1
    for document_id, _ in stuck_documents(DocumentState.PUBLISHED):
        if delivery_owed(document_id):
            deliver_document.delay(document_id)
            counts["PUBLISHED"] = counts.get("PUBLISHED", 0) + 1
    if counts:
        log.info("publishing recovery re-enqueued %s", counts)
    return counts
