"""Diacritic-insensitive search of recognised document text, in code and in the admin."""

from __future__ import annotations

import unicodedata

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from dossiers.models import Document, DocumentState, Dossier
from dossiers.services.search import fold, search_documents
from dossiers.services.workflow import transition
from tests.conftest import DataDirs, sign_in


def make_document(
    dossier: Dossier, text: str = "", state: DocumentState = DocumentState.RECEIVED
) -> Document:
    return Document.objects.create(
        dossier=dossier, state=state, source_dir="", source_sha256="0" * 64, text=text
    )


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Nguyễn Văn A", "nguyen van a"),
        ("ĐƯỜNG Đồng Khởi", "duong dong khoi"),
        ("đăng  ký\nkhai\tsinh", "dang ky khai sinh"),
        (unicodedata.normalize("NFD", "Trần Thị Bích Ngọc"), "tran thi bich ngoc"),
        ("Số 12/2025/QĐ-UBND", "so 12/2025/qd-ubnd"),
    ],
)
def test_fold_drops_marks_case_and_extra_space(text: str, folded: str) -> None:
    """Folding removes tone and vowel marks, maps đ to d, lowercases and single-spaces."""
    assert fold(text) == folded


def test_saving_a_document_fills_the_folded_text(dossier: Dossier) -> None:
    """Creating or saving a document stores the folded form of its text beside it."""
    document = make_document(dossier, "Ông Nguyễn Văn A, thường trú tại xã Đông Hòa")
    document.refresh_from_db()
    assert document.text_folded == "ong nguyen van a, thuong tru tai xa dong hoa"
    document.text = "Bà Lê Thị Đào"
    document.save()
    document.refresh_from_db()
    assert document.text_folded == "ba le thi dao"


def test_transition_with_text_fills_the_folded_text(dossier: Dossier) -> None:
    """The digitized transition sets the text with update(), and the folded text follows."""
    document = make_document(dossier, state=DocumentState.DIGITIZING)
    assert transition(
        document.pk,
        DocumentState.DIGITIZING,
        DocumentState.AWAITING_APPROVAL,
        kind="digitized",
        text="Giấy khai sinh của cháu Phạm Đức Anh",
    )
    document.refresh_from_db()
    assert document.text_folded == "giay khai sinh cua chau pham duc anh"


def test_search_ignores_marks_and_case(dossier: Dossier) -> None:
    """ "nguyen van a" finds "Nguyễn Văn A", "d" finds "đ"; marks in the query are ignored too."""
    named = make_document(dossier, "Họ và tên: NGUYỄN VĂN A\nNơi cư trú: thôn Đông")
    other = make_document(dossier, "Họ và tên: Trần Thị Bình\nNơi cư trú: xã Tân Lập")
    assert list(search_documents("nguyen van a")) == [named]
    assert list(search_documents("Nguyễn  Văn A")) == [named]
    assert list(search_documents("thon dong")) == [named]
    assert set(search_documents("d")) == {named}
    assert list(search_documents("tan lap")) == [other]
    assert list(search_documents("nguyen van b")) == []


def test_empty_query_finds_nothing(dossier: Dossier) -> None:
    """A blank query matches no document rather than all of them."""
    make_document(dossier, "Đơn đề nghị")
    assert list(search_documents("   ")) == []


def test_admin_search_finds_text_and_code(
    dossier: Dossier, client: Client, data_dirs: DataDirs
) -> None:
    """The admin's document list finds documents by unaccented text and still by dossier code."""
    named = make_document(dossier, "Người đề nghị: Nguyễn Văn A")
    other = make_document(dossier, "Người đề nghị: Lê Thị Cúc")
    admin = User.objects.create_superuser("quantri-test", "qt@example.vn", "x")
    sign_in(client, admin)
    url = reverse("admin:dossiers_document_changelist")

    by_text = client.get(url, {"q": "nguyen van a"})
    assert by_text.status_code == 200
    assert list(by_text.context["cl"].result_list) == [named]

    by_code = client.get(url, {"q": dossier.code})
    assert set(by_code.context["cl"].result_list) == {named, other}
