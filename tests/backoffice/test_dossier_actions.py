"""The dossier's life from the back office: each action by its role, refused for the others
(403) and for other offices (404); the transfer's page; the control slip."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core.vntime import VN_TZ
from dossiers.models import (
    Dossier,
    Event,
    Letter,
    LetterForm,
    Membership,
    Office,
    Role,
)
from dossiers.services import life
from tests.backoffice.conftest import signed_in
from tests.backoffice.life_people import kinds, make_member, pdf_text
from tests.conftest import MakeDossier

CLERK_ACTIONS = ["bo-sung", "du-giay-to", "lien-thong", "nhan-lai", "tra-cong-dan", "rut", "dung"]
ALL_ACTIONS = [*CLERK_ACTIONS, "tu-choi"]


@pytest.fixture()
def other_clerk(other_office: Office) -> User:
    return make_member("vanthu-khac", other_office, Role.CLERK)


@pytest.fixture()
def other_head(other_office: Office) -> User:
    return make_member("thutruong-khac", other_office, Role.HEAD)


def act(client: Client, dossier: Dossier, action: str, **data: object) -> str:
    """POST the action from the dossier's page; the page (or list) shown after it."""
    response = client.post(f"/ho-so/{dossier.code}/thao-tac/{action}/", data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def status(dossier: Dossier) -> str:
    dossier.refresh_from_db()
    return dossier.status


@pytest.mark.usefixtures("data_dirs")
def test_supplement_drafts_form_02_then_papers_restart_the_clock(
    dossier: Dossier, clerk: User, head: User
) -> None:
    client = signed_in(clerk)
    page = client.get(f"/ho-so/{dossier.code}/").content.decode()
    assert 'id="act-bo-sung"' in page and 'id="act-tu-choi"' not in page
    page = act(client, dossier, "bo-sung", ly_do="Thiếu bản sao giấy chứng sinh")
    assert "Đã yêu cầu bổ sung hồ sơ" in page and "mẫu 02" in page
    assert status(dossier) == Dossier.Status.SUPPLEMENT
    assert dossier.paused_days_left is not None
    letter = Letter.objects.get(dossier=dossier)
    assert letter.form == LetterForm.SUPPLEMENT and letter.state == Letter.State.DRAFT
    assert "Thiếu bản sao giấy chứng sinh" in letter.text
    assert {"supplement_requested", "letter_drafted"} <= kinds(dossier)
    assert 'id="act-du-giay-to"' in page and "Yêu cầu bổ sung hồ sơ" in page  # the timeline

    page = act(client, dossier, "du-giay-to")
    assert "Đã nhận đủ giấy tờ" in page
    assert status(dossier) == Dossier.Status.PROCESSING and dossier.paused_at is None
    assert "papers_completed" in kinds(dossier)


@pytest.mark.usefixtures("data_dirs")
def test_a_supplement_needs_what_is_missing(dossier: Dossier, clerk: User) -> None:
    page = act(signed_in(clerk), dossier, "bo-sung", ly_do="  ")
    assert 'class="err"' in page
    assert status(dossier) == Dossier.Status.RECEIVED
    assert not Letter.objects.filter(dossier=dossier).exists()


@pytest.mark.usefixtures("data_dirs")
def test_transfer_there_and_back(
    dossier: Dossier, clerk: User, other_clerk: User, other_office: Office
) -> None:
    """The receiving office's people see the dossier while they hold it, and hand it back."""
    other = signed_in(other_clerk)
    assert other.get(f"/ho-so/{dossier.code}/").status_code == 404
    mine = signed_in(clerk)
    assert "/lien-thong/" in mine.get(f"/ho-so/{dossier.code}/").content.decode()
    form = mine.get(f"/ho-so/{dossier.code}/lien-thong/")
    assert form.status_code == 200 and other_office.name in form.content.decode()
    assert other.get(f"/ho-so/{dossier.code}/lien-thong/").status_code == 404
    page = act(
        signed_in(clerk),
        dossier,
        "lien-thong",
        co_quan=other_office.pk,
        so_ngay=3,
        ly_do="Xác minh",
    )
    assert "Đã chuyển hồ sơ" in page and other_office.name in page
    assert status(dossier) == Dossier.Status.TRANSFERRED
    seen = other.get(f"/ho-so/{dossier.code}/")
    assert seen.status_code == 200
    assert 'id="act-nhan-lai"' in seen.content.decode()
    assert dossier.code in other.post("/ho-so/", {"q": dossier.code}).content.decode()
    assert other.post(f"/ho-so/{dossier.code}/thao-tac/rut/", {"ly_do": "x"}).status_code == 403

    act(other, dossier, "nhan-lai", ly_do="Đã xác minh")
    assert status(dossier) == Dossier.Status.PROCESSING
    assert {"transferred", "transfer_returned"} <= kinds(dossier)
    assert other.get(f"/ho-so/{dossier.code}/").status_code == 404


@pytest.mark.usefixtures("data_dirs")
def test_a_transfer_to_the_same_office_is_refused(
    dossier: Dossier, clerk: User, office: Office
) -> None:
    act(signed_in(clerk), dossier, "lien-thong", co_quan=office.pk, so_ngay=3)
    assert status(dossier) == Dossier.Status.RECEIVED


@pytest.mark.usefixtures("data_dirs")
def test_withdraw_needs_confirmation_then_return(dossier: Dossier, clerk: User) -> None:
    client = signed_in(clerk)
    page = act(client, dossier, "rut", ly_do="Công dân đề nghị rút")
    assert "hãy đánh dấu ô xác nhận" in page
    assert status(dossier) == Dossier.Status.RECEIVED
    page = act(client, dossier, "rut", ly_do="Công dân đề nghị rút", xac_nhan="1")
    assert "Đã ghi nhận công dân rút hồ sơ" in page
    assert status(dossier) == Dossier.Status.WITHDRAWN
    page = act(client, dossier, "tra-cong-dan", xac_nhan="1")
    assert "Đã ghi nhận trả hồ sơ" in page
    assert status(dossier) == Dossier.Status.RETURNED
    assert {"withdrawn", "returned_to_citizen"} <= kinds(dossier)
    page = act(client, dossier, "rut", ly_do="lần nữa", xac_nhan="1")
    assert "không thực hiện được thao tác này" in page  # LifeError, in Vietnamese


@pytest.mark.usefixtures("data_dirs")
def test_stop_drafts_form_05(dossier: Dossier, clerk: User) -> None:
    page = act(signed_in(clerk), dossier, "dung", ly_do="Cơ quan thuế chưa trả lời", xac_nhan="1")
    assert "mẫu 05" in page
    assert status(dossier) == Dossier.Status.STOPPED
    assert Letter.objects.get(dossier=dossier).form == LetterForm.STOP
    assert "dossier_stopped" in kinds(dossier)


@pytest.mark.usefixtures("data_dirs")
def test_a_head_refuses_and_form_03_is_drafted(dossier: Dossier, head: User) -> None:
    client = signed_in(head)
    page = client.get(f"/ho-so/{dossier.code}/").content.decode()
    assert 'id="act-tu-choi"' in page and 'id="act-bo-sung"' not in page
    page = act(client, dossier, "tu-choi", ly_do="Không thuộc thẩm quyền", xac_nhan="1")
    assert "mẫu 03" in page
    assert status(dossier) == Dossier.Status.REFUSED
    letter = Letter.objects.get(dossier=dossier)
    assert letter.form == LetterForm.REFUSAL and "Không thuộc thẩm quyền" in letter.text
    assert f"/ho-so/{dossier.code}/van-ban/{letter.pk}/" in page


@pytest.mark.usefixtures("data_dirs")
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_wrong_role_403_other_office_404(
    action: str,
    dossier: Dossier,
    clerk: User,
    head: User,
    official: User,
    other_clerk: User,
    other_head: User,
) -> None:
    wrong = [official, head] if action in CLERK_ACTIONS else [official, clerk]
    before = Event.objects.filter(dossier=dossier).count()
    for user in wrong:
        response = signed_in(user).post(
            f"/ho-so/{dossier.code}/thao-tac/{action}/", {"ly_do": "x", "xac_nhan": "1"}
        )
        assert response.status_code == 403, user
    for user in (other_clerk, other_head):
        response = signed_in(user).post(
            f"/ho-so/{dossier.code}/thao-tac/{action}/", {"ly_do": "x", "xac_nhan": "1"}
        )
        assert response.status_code == 404, user
    assert signed_in(clerk).get(f"/ho-so/{dossier.code}/thao-tac/{action}/").status_code == 405
    assert Event.objects.filter(dossier=dossier).count() == before
    assert status(dossier) == Dossier.Status.RECEIVED
    if action == "lien-thong":
        assert signed_in(head).get(f"/ho-so/{dossier.code}/lien-thong/").status_code == 403
        assert signed_in(other_clerk).get(f"/ho-so/{dossier.code}/lien-thong/").status_code == 404


@pytest.mark.usefixtures("data_dirs")
def test_an_unknown_action_is_404(dossier: Dossier, clerk: User) -> None:
    assert signed_in(clerk).post(f"/ho-so/{dossier.code}/thao-tac/xoa/").status_code == 404


@pytest.mark.usefixtures("data_dirs")
@pytest.mark.parametrize(
    ("received", "form"),
    [
        (datetime(2026, 3, 2, 9, tzinfo=VN_TZ), "Mẫu số 06"),
        (datetime(2025, 6, 2, 9, tzinfo=VN_TZ), "Mẫu số 05"),
    ],
)
def test_the_slip_downloads_for_everyone_of_the_office(
    received: datetime,
    form: str,
    make_dossier: MakeDossier,
    clerk: User,
    head: User,
    official: User,
    other_clerk: User,
    other_office: Office,
) -> None:
    dossier = make_dossier(received_at=received).dossier
    life.transfer(dossier, other_office, days=2)
    for user in (clerk, head, official):
        client = signed_in(user)
        assert "phieu-kiem-soat.pdf" in client.get(f"/ho-so/{dossier.code}/").content.decode()
        response = client.get(f"/ho-so/{dossier.code}/phieu-kiem-soat.pdf")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response["Cache-Control"] == "no-store"
        text = pdf_text(response.content)
        assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text
        assert form in text and dossier.code in text and other_office.name in text
    stranger = User.objects.create_user("nguoi-ngoai")
    Membership.objects.create(
        user=stranger, office=Office.objects.create(code="x", name="X"), role=Role.CLERK
    )
    assert signed_in(stranger).get(f"/ho-so/{dossier.code}/phieu-kiem-soat.pdf").status_code == 404
    life.transfer_back(dossier)
    assert (
        signed_in(other_clerk).get(f"/ho-so/{dossier.code}/phieu-kiem-soat.pdf").status_code == 404
    )
