"""The dossier list: search insensitive to marks and đ, filters, pages, and the dossier page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.services.dossier_list import PAGE_SIZE, Filters, list_dossiers
from digitize.models import Page
from dossiers.models import Document, DocumentState, Dossier, Role
from dossiers.services.registry import register_dossier
from dossiers.services.workflow import record_event
from publishing.models import OutboxMessage
from tests.backoffice.conftest import MakeUser, Side, signed_in


def _codes(html: str, *dossiers: Dossier) -> set[str]:
    return {d.code for d in dossiers if d.code in html}


@pytest.mark.parametrize(
    "query", ["nguyen van duc", "duc", "Đức", "NGUYỄN VĂN", "  nguyen   van  duc "]
)
def test_search_ignores_marks_and_d(
    query: str, side_a: Side, side_b: Side, make_user: MakeUser
) -> None:
    """ "nguyen van duc" and "duc" find "Nguyễn Văn Đức"; B's dossiers stay out of A's search."""
    other = register_dossier(
        code="HS-A-0002",
        office=side_a.office,
        procedure=side_a.procedure,
        applicant_name="Trần Thị Bình",
    ).dossier
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    html = client.post("/ho-so/", {"q": query}).content.decode()
    assert _codes(html, side_a.dossier, other, side_b.dossier) == {side_a.dossier.code}


def test_search_finds_the_recognised_text_and_the_code(
    side_a: Side, side_b: Side, make_user: MakeUser
) -> None:
    """The full OCR text counts, marks ignored; so does part of the code; B's text never."""
    document = Document.objects.get(pk=side_a.failed.pk)
    document.text = "GIẤY KHAI SINH\nHọ và tên: Hoàng Thị Mận"
    document.save()
    b_document = Document.objects.get(pk=side_b.failed.pk)
    b_document.text = "Hoàng Thị Mận"
    b_document.save()
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    for query in ("hoang thi man", "giay khai sinh", "A-000"):
        html = client.post("/ho-so/", {"q": query}).content.decode()
        assert _codes(html, side_a.dossier, side_b.dossier) == {side_a.dossier.code}, query
    html = client.post("/ho-so/", {"q": "khong co ai"}).content.decode()
    assert _codes(html, side_a.dossier) == set()


def test_the_folded_applicant_follows_a_renamed_applicant(side_a: Side) -> None:
    """Saving a new name refolds it: the old name no longer finds the dossier, the new one does."""
    dossier = side_a.dossier
    dossier.applicant_name = "Phạm Thị Ánh Tuyết"
    dossier.save()
    dossier.refresh_from_db()
    assert dossier.applicant_folded == "pham thi anh tuyet"


def test_a_search_never_puts_the_name_in_the_address(side_a: Side, make_user: MakeUser) -> None:
    """The search form is sent by POST; a name put into the address by hand is ignored."""
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    list_page = client.get("/ho-so/").content.decode()
    assert 'method="post" action="/ho-so/"' in list_page
    other = register_dossier(
        code="HS-A-0002", office=side_a.office, procedure=side_a.procedure, applicant_name="Bình"
    ).dossier
    html = client.get("/ho-so/?q=duc").content.decode()
    assert _codes(html, side_a.dossier, other) == {side_a.dossier.code, other.code}
    response = client.post("/ho-so/", {"q": "duc"})
    assert response["Cache-Control"] == "no-store"


def test_filters_by_due_state_procedure_and_dates(side_a: Side, make_user: MakeUser) -> None:
    """Overdue, due soon, status, document state and the day of receipt each narrow the list."""
    now = timezone.now()
    fresh = register_dossier(
        code="HS-A-MOI", office=side_a.office, procedure=side_a.procedure, applicant_name="Mới"
    ).dossier
    soon = register_dossier(
        code="HS-A-GAN", office=side_a.office, procedure=side_a.procedure, applicant_name="Gần"
    ).dossier
    Dossier.objects.filter(pk=soon.pk).update(due_at=now + timedelta(hours=20))
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    everyone = (side_a.dossier, fresh, soon)

    def shown(data: dict[str, str]) -> set[str]:
        return _codes(client.post("/ho-so/", data).content.decode(), *everyone)

    assert shown({"han": "overdue"}) == {side_a.dossier.code}
    assert shown({"han": "soon"}) == {soon.code}
    assert shown({"tai_lieu": DocumentState.FAILED}) == {side_a.dossier.code}
    assert shown({"trang_thai": Dossier.Status.RECEIVED}) == {fresh.code, soon.code}
    today = timezone.localdate().isoformat()
    assert shown({"tu_ngay": today}) == {fresh.code, soon.code}
    assert shown({"den_ngay": (timezone.localdate() - timedelta(days=5)).isoformat()}) == {
        side_a.dossier.code
    }
    assert shown({"thu_tuc": str(side_a.procedure.pk)}) == {d.code for d in everyone}
    assert shown({"tu_ngay": "not a date"}) == {d.code for d in everyone}  # ignored, not a 500
    # start page links use GET with the filter in the address
    html = client.get("/ho-so/?han=overdue").content.decode()
    assert _codes(html, *everyone) == {side_a.dossier.code}


def test_pages_are_bounded(side_a: Side, make_user: MakeUser) -> None:
    """A page holds PAGE_SIZE rows; the next page the rest; no page beyond the last."""
    for n in range(PAGE_SIZE + 2):
        register_dossier(
            code=f"HS-A-T{n:03d}",
            office=side_a.office,
            procedure=side_a.procedure,
            applicant_name="Tô Thị Tám",
        )
    user = make_user("vanthu-trang", side_a.office, Role.CLERK)
    now = timezone.now()
    first = list_dossiers(user, Filters(query="tam"), now)
    second = list_dossiers(user, Filters(query="tam", page=2), now)
    assert len(first.rows) == PAGE_SIZE and first.has_next and not first.has_previous
    assert len(second.rows) == 2 and not second.has_next and second.has_previous
    seen = {r.dossier.code for r in first.rows} | {r.dossier.code for r in second.rows}
    assert len(seen) == PAGE_SIZE + 2


def test_the_dossier_page(side_a: Side, make_user: MakeUser) -> None:
    """Timeline in words, flagged pages first, messages with the recipient masked, PDF link."""
    document = side_a.failed
    Page.objects.bulk_create(
        [
            Page(document=document, index=0, image_path="x", dpi=300, width=1, height=1, mode="L"),
            Page(
                document=document,
                index=1,
                image_path="y",
                dpi=300,
                width=1,
                height=1,
                mode="L",
                flags=[{"code": "faint", "severity": "warn", "page": 2, "message_vi": "Mờ nhạt"}],
            ),
        ]
    )
    Document.objects.filter(pk=document.pk).update(pdf_path="/nowhere.pdf")
    OutboxMessage.objects.create(
        document=document, channel=OutboxMessage.Channel.EMAIL, recipient="binhminh@example.vn"
    )
    record_event(side_a.dossier, "resubmitted", actor="vanthu-a")
    client = signed_in(make_user("vanthu-a", side_a.office, Role.CLERK))
    html = client.get(f"/ho-so/{side_a.dossier.code}/").content.decode()
    assert "Tiếp nhận hồ sơ" in html and "Nộp lại bản quét đã sửa" in html
    assert "scans_received" not in html
    assert "Mờ nhạt" in html
    pages = html.split('class="pages"')[1]
    assert pages.index("<td>2</td>") < pages.index("<td>1</td>"), "flagged page first"
    assert "bi***@example.vn" in html and "binhminh@example.vn" not in html
    assert f"/ky-duyet/tai-lieu/{document.pk}.pdf" in html
    assert "Trang 1 quá mờ (A)." in html
