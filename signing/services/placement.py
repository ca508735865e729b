"""Where a procedure puts the visible signature: its configured page and box, in points."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from dossiers.models import Document, Procedure, StampPage
from dossiers.services.workflow import record_event
from signing.errors import SigningError
from signing.stamp.place import MM, Corner, Placed, StampPlacement, plan_placement
from signing.stamp.text import StampText

__all__ = ["place_stamp", "procedure_placement"]

_CORNERS: dict[str, Corner] = {
    "top-left": "top-left",
    "top-right": "top-right",
    "bottom-left": "bottom-left",
    "bottom-right": "bottom-right",
}


def procedure_placement(
    procedure: Procedure | None, default: StampPlacement
) -> StampPlacement | None:
    """Return the stamp placement ``procedure`` configures over its layout's ``default``.

    None when the procedure configures nothing (or there is none): the stamp then
    goes exactly where its layout puts it. A configured page, corner or box
    replaces that part of ``default`` only. A page the document lacks falls back
    to its last page, and a configured box is used at its size, brought inside a
    page too small for it (see :func:`signing.stamp.place.plan_placement`).
    """
    if procedure is None:
        return None
    box = procedure.stamp_box_mm
    if not (procedure.stamp_page or procedure.stamp_corner or box is not None):
        return None
    page = default.page
    if procedure.stamp_page == StampPage.FIRST:
        page = 0
    elif procedure.stamp_page == StampPage.LAST:
        page = -1
    elif procedure.stamp_page == StampPage.NUMBER and procedure.stamp_page_number:
        page = procedure.stamp_page_number - 1
    placement = dataclasses.replace(
        default,
        page=page,
        corner=_CORNERS.get(procedure.stamp_corner, default.corner),
        page_fallback=True,
    )
    if box is None:
        return placement
    x, y, width, height = (_points(v) for v in box)
    return dataclasses.replace(
        placement, margin=x, margin_y=y, width=width, height=height, exact=True
    )


def _points(millimetres: Decimal) -> float:
    return float(millimetres) * MM


def place_stamp(document: Document, stamp: StampText, pdf: bytes, actor: str) -> Placed | None:
    """Where ``stamp`` goes on ``pdf``, worked out once for signing to use
    (``SignJob(placed=…)``); a ``stamp_adjusted`` event records how the document made
    it differ from the configured place.

    Nothing is recorded when the stamp goes where it was asked; a PDF that cannot
    be read gives None and is left to the signing itself to report.
    """
    try:
        placed, notes = plan_placement(stamp, pdf)
    except SigningError:
        return None
    if notes:
        record_event(
            document.dossier,
            "stamp_adjusted",
            document=document,
            actor=actor,
            detail={"reasons": list(notes)},
        )
    return placed
