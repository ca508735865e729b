"""SMS text: unaccented GSM-7 that fits one part, the administrator's templates, the gateways."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from dossiers.models import Dossier, Office
from publishing.models import SmsTemplate
from publishing.services.delivery_sms import (
    DEFAULT_TEMPLATES,
    WORST_CODE_CHARS,
    WORST_DOSSIER_ID,
    check_fits,
    sms_text,
    worst_case_values,
)
from publishing.sms import (
    SMS_PART,
    FileSmsBackend,
    HttpSmsGateway,
    SmsGatewayError,
    SmsTemplateError,
    gsm7_length,
    non_gsm7,
    render_sms,
    unaccented,
)
from tests.conftest import MakeDossier, sign_in
from tests.support.messaging import FakeGateway, free_port

LONG_OFFICE = "Ủy ban nhân dân phường Nguyễn Thái Bình, quận Một, thành phố Hồ Chí Minh"


@pytest.fixture()
def staff_client(client: Client, db: None) -> Client:
    """A superuser's client (no password: hashing one costs most of a second)."""
    sign_in(client, User.objects.create_superuser("admin", password=None))
    return client


def test_unaccented_text_is_plain_gsm7() -> None:
    """Tone and vowel marks go, đ becomes d, typographic punctuation becomes ASCII."""
    assert unaccented("Ủy ban nhân dân xã Đông Hòa – “Một cửa”") == (
        'Uy ban nhan dan xa Dong Hoa - "Mot cua"'
    )
    assert (
        unaccented("Quốc lộ 1A, Đắk Lắk, Thừa Thiên Huế") == "Quoc lo 1A, Dak Lak, Thua Thien Hue"
    )
    assert non_gsm7(unaccented("漢字 và ✓")) == []
    assert gsm7_length("a{b}c") == 7  # the extension table counts twice
    assert non_gsm7("Hồ sơ`") == ["ồ", "ơ", "`"]


def test_render_shortens_the_office_name_to_fit_one_part() -> None:
    """The office's name is cut at a word boundary; the code and the link stay whole."""
    link = "https://motcua.example.vn/danh-gia/12345:1abcde:0123456789abcdef/"
    text = render_sms(
        "{office}: HS {code} da co ket qua. Danh gia: {link}",
        {"office": LONG_OFFICE, "code": "000.00.21.H26-261122-0001", "link": link},
    )
    assert gsm7_length(text) <= SMS_PART
    assert text.startswith("Uy ban nhan dan phuong") and text.endswith(link)
    assert "000.00.21.H26-261122-0001" in text
    office = text.split(": HS ")[0]
    assert LONG_OFFICE.startswith(
        office.replace("Uy ban nhan dan phuong", "Ủy ban nhân dân phường")[:10]
    )
    assert not office.endswith((" ", ","))


@pytest.mark.parametrize("base", ["http://127.0.0.1:8000", "https://dichvucong.xathu.gov.vn"])
def test_every_default_template_renders_within_one_part_for_long_values(
    settings: Settings, base: str
) -> None:
    """With a 255-character office name, a long code and a large dossier id, each default
    fits 160 GSM-7 characters and keeps part of the office's name."""
    settings.PUBLIC_BASE_URL = base
    values = worst_case_values()
    assert len(values["office"]) == 255 and len(values["code"]) == WORST_CODE_CHARS
    assert f"/danh-gia/{WORST_DOSSIER_ID}:" in values["link"]
    for purpose, template in DEFAULT_TEMPLATES.items():
        text = check_fits(template)
        assert gsm7_length(text) <= SMS_PART, purpose
        assert non_gsm7(text) == [] and text.isascii()
        wanted = values["lookup"] if purpose == SmsTemplate.Purpose.LETTER else values["link"]
        assert text.startswith("Uy ban nhan dan") and wanted in text


def test_a_real_dossier_sms_is_one_gsm7_part(settings: Settings, make_dossier: MakeDossier) -> None:
    """The office's name comes unaccented (no UCS-2 because of it), with the rating link."""
    settings.PUBLIC_BASE_URL = "https://dichvucong.xathu.gov.vn"
    Office.objects.update(name=LONG_OFFICE)
    dossier = make_dossier(code="000.00.21.H26-261122-0001").dossier
    Dossier.objects.filter(pk=dossier.pk).update(resolved_at=timezone.now())
    dossier.refresh_from_db()
    text = sms_text(dossier)
    assert text.isascii() and gsm7_length(text) <= SMS_PART
    assert "HS 000.00.21.H26-261122-0001 da co ket qua" in text
    assert "https://dichvucong.xathu.gov.vn/danh-gia/" in text

    SmsTemplate.objects.create(
        purpose=SmsTemplate.Purpose.RESULT_READY, text="HS {code} co ket qua. Tra cuu: {lookup}"
    )
    assert sms_text(dossier) == (
        "HS 000.00.21.H26-261122-0001 co ket qua. Tra cuu: "
        "https://dichvucong.xathu.gov.vn/tra-cuu/?ma=000.00.21.H26-261122-0001"
    )


@pytest.mark.parametrize(
    ("template", "complaint"),
    [
        ("{office}: hồ sơ {code} đã có kết quả. {link}", "không dấu"),
        ("{office}: HS {code} da co ket qua. `{link}`", "GSM-7"),
        ("{office} {code} {link} {secret}", "{secret}"),
        ("{office}: HS {code} da co ket qua. " + "x" * 100 + " {link}", "quá 160"),
        ("{office}: HS {code} da co ket qua. Danh gia: {link} " + "x" * 20, "tên cơ quan"),
    ],
)
def test_check_fits_refuses_what_would_not_go_as_one_gsm7_part(
    template: str, complaint: str
) -> None:
    with pytest.raises(SmsTemplateError, match=complaint.replace("{", r"\{").replace("}", r"\}")):
        check_fits(template)


@pytest.mark.usefixtures("data_dirs")
def test_the_admin_refuses_an_over_long_or_non_gsm_template_and_saves_a_good_one(
    staff_client: Client,
) -> None:
    url = "/quan-tri/publishing/smstemplate/add/"
    page = staff_client.get(url).content.decode()
    assert DEFAULT_TEMPLATES[SmsTemplate.Purpose.RESULT_READY] in page

    for bad in ("{office}: hồ sơ {code} có kết quả {link}", "{code} " + "y" * 170):
        response = staff_client.post(url, {"purpose": "result_ready", "text": bad})
        assert response.status_code == 200
        assert "errorlist" in response.content.decode()
    assert not SmsTemplate.objects.exists()

    good = "{office}: ho so {code} da xong. Danh gia: {link}"
    response = staff_client.post(url, {"purpose": "result_ready", "text": good})
    assert response.status_code == 302
    assert SmsTemplate.objects.get().text == good


def test_the_file_backend_keeps_each_message_once_by_its_key(tmp_path: Path) -> None:
    backend = FileSmsBackend(tmp_path / "sms")
    backend.send("0912345678", "HS 1 da co ket qua", key="outbox-1-abc")
    backend.send("0912345678", "HS 1 da co ket qua", key="outbox-1-abc")
    assert [p.name for p in (tmp_path / "sms").iterdir()] == ["outbox-1-abc.json"]


def test_the_http_gateway_posts_json_with_basic_auth_and_an_idempotency_key() -> None:
    gateway = FakeGateway(mode="flaky").start()  # refuses the first try
    try:
        url = f"http://127.0.0.1:{gateway.port}/api/sms"
        client = HttpSmsGateway(url=url, user="motcua", password="mat-khau", timeout_s=2)
        with pytest.raises(SmsGatewayError) as refused:
            client.send("0912345678", "HS 1 da co ket qua", key="outbox-7-abc")
        assert refused.value.detail == "HTTP 503" and refused.value.disposition == "retry"
        for secret in ("0912345678", "mat-khau", "HS 1"):
            assert secret not in str(refused.value) + refused.value.detail
        client.send("0912345678", "HS 1 da co ket qua", key="outbox-7-abc")
        assert [r.accepted for r in gateway.requests] == [False, True]
        request = gateway.requests[-1]
        assert (request.phone, request.text, request.key) == (
            "0912345678",
            "HS 1 da co ket qua",
            "outbox-7-abc",
        )
        assert request.authorization == "Basic " + base64.b64encode(b"motcua:mat-khau").decode()
    finally:
        gateway.stop()


def test_the_http_gateway_treats_refusal_and_silence_as_retryable() -> None:
    down = HttpSmsGateway(url=f"http://127.0.0.1:{free_port()}/send?to={{phone}}&text={{text}}")
    with pytest.raises(SmsGatewayError) as refused:
        down.send("0912345678", "x", key="k")
    assert refused.value.detail == "ConnectionRefusedError"
    with pytest.raises(ValueError, match="http"):
        HttpSmsGateway(url="file:///etc/passwd?{phone}{text}")
