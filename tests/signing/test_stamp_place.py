"""The stamp place a procedure configures, through approval and signing, fitted to each page."""

from __future__ import annotations

import dataclasses
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from pyhanko.sign.signers import SimpleSigner
from pypdf import PdfWriter

from dossiers.models import Document, Dossier, Event, Procedure
from signing.devpki import IssuedKey
from signing.models import Batch, BatchItem, Signer
from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.services.batch_run import approve_batch
from signing.services.options import stamp_for
from signing.services.placement import procedure_placement
from signing.stamp import freespace
from signing.stamp.place import LAYOUT_PLACEMENTS, MM, StampPlacement, plan_placement
from signing.stamp.text import StampText
from signing.verify.check import verify_pdf
from tests.conftest import MakeAwaiting
from tests.support.pki import TEST_OFFICE, TEST_SIGNED_AT, TEST_SIGNER, read_stamps

A4 = (0.0, 0.0, 595.276, 841.89)


def batch_of(document: Document) -> Batch:
    return (
        BatchItem.objects.select_related("batch__office", "batch__procedure")
        .get(document=document)
        .batch
    )


def sign_through_approval(
    official: User, key: SimpleSigner, pki: IssuedKey, document: Document
) -> bytes:
    approve_batch(batch_of(document), official, key)
    document.refresh_from_db()
    signed = Path(document.signed_path).read_bytes()
    report = verify_pdf(signed, [pki.ca_cert])
    assert report.ok, report
    return signed


def blank_pdf(width: float, height: float, pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=width, height=height)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_procedure_without_a_place_keeps_the_layouts_own(
    official: User, procedure: Procedure, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """Nothing configured: the stamp has no placement of its own, so the layout decides."""
    stamp = stamp_for(Signer.objects.get(user=official), batch_of(make_awaiting(dossier)))
    assert stamp.placement is None
    assert procedure_placement(procedure, LAYOUT_PLACEMENTS["text"]) is None


def test_the_configured_box_is_where_the_approval_signs(
    official: User,
    signing_key: SimpleSigner,
    throwaway_pki: IssuedKey,
    procedure: Procedure,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """A box 80 × 25 mm, 20 mm from the left and 60 mm from the top of page 1 (blank
    there), is the widget."""
    Procedure.objects.filter(pk=procedure.pk).update(
        stamp_page="first",
        stamp_corner="top-left",
        stamp_x_mm=Decimal(20),
        stamp_y_mm=Decimal(60),
        stamp_width_mm=Decimal(80),
        stamp_height_mm=Decimal(25),
    )
    document = make_awaiting(dossier)

    (view,) = read_stamps(sign_through_approval(official, signing_key, throwaway_pki, document))

    top = A4[3] - 60 * MM
    expected = (20 * MM, top - 25 * MM, 100 * MM, top)
    assert view.page == 0
    assert view.rect == pytest.approx(expected, abs=1)
    assert "Nguyễn Văn An" in view.text and view.font_embedded
    assert not Event.objects.filter(document=document, kind="stamp_adjusted").exists()


def test_a_configured_box_over_the_text_moves_to_free_space_with_a_reason(
    official: User,
    signing_key: SimpleSigner,
    throwaway_pki: IssuedKey,
    procedure: Procedure,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The administrator's box 15 mm from the top would cover the decision's title: the
    stamp goes to the nearest free space instead, and the event says why. The page is
    read once: the place recorded in the event is the place signed."""
    maps: list[object] = []
    real_page_map = freespace.page_map

    def counted(*args: Any) -> freespace.PageMap:
        maps.append(args)
        return real_page_map(*args)

    monkeypatch.setattr(freespace, "page_map", counted)
    Procedure.objects.filter(pk=procedure.pk).update(
        stamp_page="first",
        stamp_corner="top-left",
        stamp_x_mm=Decimal(20),
        stamp_y_mm=Decimal(15),
        stamp_width_mm=Decimal(80),
        stamp_height_mm=Decimal(25),
    )
    document = make_awaiting(dossier)

    (view,) = read_stamps(sign_through_approval(official, signing_key, throwaway_pki, document))

    title_line = (72.0, 766.0, 400.0, 782.0)  # "QUYẾT ĐỊNH …" at y 770, 14 pt
    x0, y0, x1, y1 = view.rect
    assert x1 <= title_line[0] or x0 >= title_line[2] or y1 <= title_line[1] or y0 >= title_line[3]
    event = Event.objects.get(document=document, kind="stamp_adjusted")
    assert any("chỗ trống gần nhất" in reason for reason in event.detail["reasons"])
    assert len(maps) == 1


def test_a_page_the_document_lacks_falls_back_to_its_last_with_a_reason(
    official: User,
    signing_key: SimpleSigner,
    throwaway_pki: IssuedKey,
    procedure: Procedure,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """Page 3 of a one-page result: signed on page 1, and the event says why."""
    Procedure.objects.filter(pk=procedure.pk).update(
        stamp_page="number", stamp_page_number=3, stamp_corner="bottom-left"
    )
    document = make_awaiting(dossier)

    (view,) = read_stamps(sign_through_approval(official, signing_key, throwaway_pki, document))

    assert view.page == 0
    assert view.rect[0] == pytest.approx(LAYOUT_PLACEMENTS["text"].margin, abs=1)
    event = Event.objects.get(document=document, kind="stamp_adjusted")
    assert event.detail == {
        "reasons": ["Tài liệu có 1 trang, không có trang số 3; chữ ký đặt ở trang 1."]
    }
    assert event.actor == official.get_username()


def test_a_named_position_keeps_the_layouts_size_and_margin(procedure: Procedure) -> None:
    """Only the corner changes: size, margin and page stay the certified copy's defaults."""
    procedure.stamp_layout = "certified_copy"
    procedure.stamp_corner = "top-left"
    default = LAYOUT_PLACEMENTS["certified_copy"]
    placement = procedure_placement(procedure, default)
    assert placement == dataclasses.replace(default, corner="top-left", page_fallback=True)
    assert placement is not None
    assert placement.box_in(A4) == (28.0, A4[3] - 28.0 - 56.0, 278.0, A4[3] - 28.0)


def test_a_box_too_big_for_a_small_page_is_moved_then_shrunk_with_a_reason(
    signer: SimpleSigner,
) -> None:
    """On an A7 page (74 × 105 mm) a 100 × 30 mm box is brought inside it, said in Vietnamese."""
    placement = StampPlacement(
        page=0, corner="top-right", width=100 * MM, height=30 * MM, margin=10 * MM,
        margin_y=90 * MM, exact=True, page_fallback=True,
    )  # fmt: skip
    page_w, page_h = 74 * MM, 105 * MM
    x0, y0, x1, y1 = placement.box_in((0.0, 0.0, page_w, page_h))
    assert (x0, x1) == pytest.approx((0.0, page_w))  # as wide as the page, no margin left
    assert (y0, y1) == pytest.approx((0.0, 30 * MM))  # moved down until it fits
    stamp = StampText(
        signer_name=TEST_SIGNER,
        office_name=TEST_OFFICE,
        signed_at=TEST_SIGNED_AT,
        placement=placement,
    )
    small = blank_pdf(page_w, page_h)

    assert plan_placement(stamp, small)[1] == (
        "Ô chữ ký 100 × 30 mm cách mép 10 mm và 90 mm không vừa trang 74 × 105 mm; "
        "đã dời và thu nhỏ cho vừa trang.",
    )
    (view,) = read_stamps(sign_pdf(small, signer, SignOptions(stamp=stamp)))
    assert view.rect == pytest.approx((0.0, 0.0, page_w, 30 * MM), abs=1)
    assert plan_placement(stamp, blank_pdf(*A4[2:]))[1] == ()
