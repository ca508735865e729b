"""The result SMS: the administrator's template or the default, and the configured gateway."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import timezone

from dossiers.models import Dossier, Office
from publishing.models import SmsTemplate
from publishing.services.delivery_email import lookup_url
from publishing.services.rating import rating_link
from publishing.sms import (
    SMS_PART,
    FileSmsBackend,
    HttpSmsGateway,
    SmsBackend,
    SmsTemplateError,
    gsm7_length,
    render_sms,
)

__all__ = [
    "DEFAULT_TEMPLATES",
    "PLACEHOLDERS",
    "check_fits",
    "gateway",
    "sms_text",
    "worst_case_values",
]

DEFAULT_TEMPLATES: dict[str, str] = {
    SmsTemplate.Purpose.RESULT_READY: "{office}: HS {code} da co ket qua. Danh gia: {link}",
    SmsTemplate.Purpose.LETTER: "{office}: co van ban moi ve HS {code}. Xem: {lookup}",
}
"""The wording of each kind of SMS when the administrator has not set one."""

PLACEHOLDERS = frozenset({"office", "code", "link", "lookup"})
"""What a template may fill in; ``{office}`` is shortened to leave room for the rest."""

WORST_CODE_CHARS = 32
"""The longest dossier code a template must leave room for (the national form,
``000.00.21.H26-261122-0001``, has 25); a longer code shortens the office's name more."""

WORST_DOSSIER_ID = 99_999_999
"""The largest dossier id a rating link must leave room for."""

OFFICE_MIN_CHARS = 16
"""Characters of the office's name a template must leave in its longest rendering."""


def _values(dossier: Dossier) -> dict[str, str]:
    return {
        "office": dossier.office.name,
        "code": dossier.code,
        "link": rating_link(dossier) or f"{settings.PUBLIC_BASE_URL}/tra-cuu/",
        "lookup": lookup_url(dossier),
    }


def worst_case_values() -> dict[str, str]:
    """Values as long as they get: a 255-character office name, a long code, a large id."""
    office = Office(name=("Ủy ban nhân dân phường Đông Hòa, thành phố Dĩ An " * 6)[:255])
    dossier = Dossier(
        pk=WORST_DOSSIER_ID, code="W" * WORST_CODE_CHARS, office=office, resolved_at=timezone.now()
    )
    return _values(dossier)


def template_text(purpose: str) -> str:
    """The administrator's template for ``purpose``, or the default in code."""
    row = SmsTemplate.objects.filter(purpose=purpose).values_list("text", flat=True).first()
    return row or DEFAULT_TEMPLATES[purpose]


def sms_text(dossier: Dossier, purpose: str = SmsTemplate.Purpose.RESULT_READY) -> str:
    """The SMS for ``dossier``: unaccented, GSM-7, one part for codes up to the worst case."""
    return render_sms(template_text(purpose), _values(dossier))


def check_fits(template: str) -> str:
    """The worst-case rendering of ``template``; ``SmsTemplateError`` when it does not fit
    one GSM-7 part with room for the office's name, or uses characters outside GSM-7."""
    values = worst_case_values()
    text = render_sms(template, values)
    length = gsm7_length(text)
    if length > SMS_PART:
        raise SmsTemplateError(
            f"Bản dài nhất của mẫu có {length} ký tự, quá {SMS_PART} ký tự của một tin: {text}"
        )
    rest = gsm7_length(render_sms(template, {**values, "office": ""}))
    uses = template.count("{office}")
    if uses and (SMS_PART - rest) // uses < OFFICE_MIN_CHARS:
        raise SmsTemplateError(
            f"Mẫu dài quá: tên cơ quan chỉ còn chỗ cho dưới {OFFICE_MIN_CHARS} ký tự. "
            f"Bản dài nhất: {text}"
        )
    return text


def gateway() -> SmsBackend:
    """The HTTP gateway of ``settings.SMS_URL``, or files in ``OUTBOX_DIR/sms`` without one."""
    if settings.SMS_URL:
        return HttpSmsGateway(
            url=settings.SMS_URL,
            user=settings.SMS_USER,
            password=settings.SMS_PASSWORD,
            token=settings.SMS_TOKEN,
            timeout_s=settings.SMS_TIMEOUT_S,
        )
    return FileSmsBackend(Path(settings.OUTBOX_DIR) / "sms")
