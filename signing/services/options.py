"""What an office's signatures carry: the procedure's visible stamp and the office's PAdES level."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.utils.module_loading import import_string

from dossiers.models import Document, Office, Procedure
from signing.errors import ApprovalError
from signing.models import Batch, OfficeSigningPolicy, Signer
from signing.pades.evidence import revocation_context
from signing.pades.levels import level_at_least
from signing.pades.options import SignOptions
from signing.services.placement import procedure_placement
from signing.stamp.place import placement_for
from signing.stamp.text import Layout, StampText
from signing.verify.check import load_trust_roots

__all__ = [
    "VERIFY_PATH",
    "document_stamp",
    "office_sign_options",
    "sign_options_for",
    "stamp_for",
    "stamp_text",
    "verify_url",
]

VERIFY_PATH = "/kiem-tra/"
"""Path of the public verification page; the stamp's QR code leads to the document's own
page below it, ``/kiem-tra/<verify_code>/`` (see :func:`document_stamp`)."""


def verify_url(code: str = "") -> str:
    """The public verification address: the page of the document whose code is ``code``,
    else the upload page."""
    return f"{settings.PUBLIC_BASE_URL}{VERIFY_PATH}{f'{code}/' if code else ''}"


def document_stamp(stamp: StampText, document: Document) -> StampText:
    """``stamp`` with its QR code leading to ``document``'s own verification page.

    The address carries only the document's random verification code, no personal
    data; a stamp without a QR code stays without one.
    """
    if stamp.verify_url is None:
        return stamp
    return dataclasses.replace(stamp, verify_url=verify_url(document.verify_code))


def stamp_for(signer: Signer, batch: Batch) -> StampText:
    """The visible stamp of ``signer``'s signatures on ``batch``'s documents.

    The layout the batch's procedure requires (a certified copy of a paper
    original gets ``certified_copy``); when it requires none, the Decree 30/2020
    personal layout if the signer has a signature image, else the text stamp.
    Each with a QR code to the public verification page (an address without
    personal data; :func:`document_stamp` points it at each document's own page),
    in the place the procedure configures, else the layout's own.
    """
    return stamp_text(
        signer_name=signer.display_name,
        office=batch.office,
        procedure=batch.procedure,
        signature_image=signer.signature_path,
        seal_image=signer.seal_path,
    )


def stamp_text(
    *,
    signer_name: str,
    office: Office,
    procedure: Procedure | None,
    signature_image: Path | None = None,
    seal_image: Path | None = None,
) -> StampText:
    """The visible stamp of ``signer_name``'s signatures on ``procedure``'s documents.

    Shared by the officials' batches (:func:`stamp_for`) and the organisation's
    automatic signatures; see :func:`stamp_for` for the layout and the place.
    """
    layout: Layout = "personal" if signature_image is not None else "text"
    if procedure is not None and procedure.stamp_layout:
        layout = _LAYOUTS.get(procedure.stamp_layout, layout)
        if layout == "personal" and signature_image is None:
            raise ApprovalError(
                f"Thủ tục {procedure.code} dùng mẫu chữ ký cá nhân nhưng người ký "
                f"{signer_name} chưa có ảnh chữ ký; hãy bổ sung trong trang quản trị."
            )
    stamp = StampText(
        signer_name=signer_name,
        office_name=office.name,
        font_path=settings.STAMP_FONT,
        layout=layout,
        signature_image=signature_image,
        seal_image=seal_image,
        verify_url=verify_url(),
    )
    placement = procedure_placement(procedure, placement_for(stamp))
    return stamp if placement is None else dataclasses.replace(stamp, placement=placement)


_LAYOUTS: dict[str, Layout] = {
    "text": "text",
    "personal": "personal",
    "certified_copy": "certified_copy",
}


def sign_options_for(batch: Batch, stamp: StampText) -> SignOptions:
    """The signing options of ``batch``: its office's PAdES level, TSA and trust roots.

    A level the office requires is never lowered: a missing timestamp authority
    or trust root refuses the run instead of signing with less.
    """
    return office_sign_options(batch.office, stamp)


def office_sign_options(office: Office, stamp: StampText) -> SignOptions:
    """The signing options of ``office``'s signatures, as :func:`sign_options_for` says."""
    policy = OfficeSigningPolicy.for_office(office.pk)
    level = policy.level
    if level not in _LEVEL_NAMES:
        raise ApprovalError(f"Mức chữ ký “{level}” của {office.name} không hợp lệ.")
    pades = _LEVEL_NAMES[level]
    check = _output_check()
    if pades == "B-B":
        return SignOptions(stamp=stamp, output_check=check)
    if not policy.tsa_url:
        raise ApprovalError(
            f"{office.name} ký ở mức {pades} nhưng chưa cấu hình máy chủ cấp dấu thời gian."
        )
    context = None
    if level_at_least(pades, "B-LT"):
        roots = load_trust_roots(
            sorted(
                p
                for p in Path(settings.TRUST_DIR).glob("*")
                if p.suffix.lower() in (".pem", ".crt", ".cer", ".der")
            )
        )
        if not roots:
            raise ApprovalError(
                f"{office.name} ký ở mức {pades} nhưng chưa có chứng thư gốc tin cậy "
                "trong thư mục trust."
            )
        context = revocation_context(roots)
    return SignOptions(
        stamp=stamp,
        level=pades,
        timestamper=policy.tsa_url,
        validation_context=context,
        output_check=check,
    )


def _output_check() -> Callable[[bytes], Sequence[object]] | None:
    """The check every signed result must also pass (``SIGNED_OUTPUT_CHECK``), if any."""
    name = getattr(settings, "SIGNED_OUTPUT_CHECK", "")
    return import_string(name) if name else None


_LEVEL_NAMES: dict[str, Literal["B-B", "B-T", "B-LT", "B-LTA"]] = {
    "B-B": "B-B",
    "B-T": "B-T",
    "B-LT": "B-LT",
    "B-LTA": "B-LTA",
}
