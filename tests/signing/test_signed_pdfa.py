"""A digitized PDF/A stays PDF/A after signing: metadata untouched, stamp font embedded."""

from __future__ import annotations

import io
from pathlib import Path
from typing import cast

import pytest
from PIL import Image
from pyhanko.sign.signers import SimpleSigner
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, StreamObject

from core.pdfa.check import check_pdfa
from dossiers.models import Office
from signing.errors import SigningError
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.pades.evidence import revocation_context
from signing.pades.levels import PadesLevel
from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.services.options import office_sign_options
from signing.stamp.text import LAYOUTS, Layout, StampText
from signing.verify.check import verify_pdf
from tests.support.pki import (
    TEST_OFFICE,
    TEST_PASSPHRASE,
    TEST_SIGNED_AT,
    TEST_SIGNER,
    read_stamps,
)
from tests.support.testpki_services import PkiServices


def _metadata(pdf: bytes) -> tuple[dict[str, str], bytes]:
    reader = PdfReader(io.BytesIO(pdf))
    info = cast(DictionaryObject, reader.trailer["/Info"].get_object())
    catalog = cast(DictionaryObject, reader.trailer["/Root"].get_object())
    xmp = cast(StreamObject, catalog["/Metadata"].get_object()).get_data()
    return {str(k): str(v) for k, v in info.items()}, xmp


@pytest.mark.parametrize("layout", LAYOUTS)
def test_signed_pdfa_keeps_its_metadata_and_passes_the_pdfa_check(
    layout: Layout, digitized: bytes, signer: SimpleSigner, trust: list[Path], tmp_path: Path
) -> None:
    """Info and XMP (Producer included) are the digitized ones; no PDF/A check fails."""
    image = tmp_path / "chu-ky.png"
    Image.new("RGBA", (300, 100), (0, 0, 120, 255)).save(image)
    stamp = StampText(
        TEST_SIGNER, TEST_OFFICE, signed_at=TEST_SIGNED_AT, layout=layout, signature_image=image
    )
    signed = sign_pdf(digitized, signer, SignOptions(stamp=stamp))

    assert check_pdfa(signed) == []
    assert check_pdfa.update(digitized, signed) == []
    assert _metadata(signed) == _metadata(digitized)
    info, _ = _metadata(signed)
    assert info["/Producer"].startswith("motcua") and "pyHanko" not in info["/Producer"]
    report = verify_pdf(signed, trust)
    assert report.ok and len(report.signatures) == 1
    assert "không bị sửa đổi" in report.signatures[0].summary_vi
    (view,) = read_stamps(signed)
    assert view.font_embedded and TEST_OFFICE in view.text


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_pdfa_signed_with_evidence_keeps_its_metadata(
    level: PadesLevel, digitized: bytes, services: PkiServices
) -> None:
    """Timestamp, DSS and document timestamp revisions also leave Info and XMP as digitized."""
    signer = load_pkcs12_signer(services.signer_p12, TEST_PASSPHRASE)
    options = SignOptions(
        stamp=StampText(TEST_SIGNER, TEST_OFFICE, signed_at=TEST_SIGNED_AT),
        level=level,
        timestamper=services.tsa_url,
        validation_context=revocation_context([services.root]),
    )
    signed = sign_pdf(digitized, signer, options)

    assert check_pdfa(signed) == []
    assert check_pdfa.update(digitized, signed) == []
    assert _metadata(signed) == _metadata(digitized)
    report = verify_pdf(signed, [services.trust_root])
    assert report.ok, report.to_dict()
    (sig,) = report.signatures
    assert sig.pades_level == level
    assert sig.intact and sig.valid and sig.trusted and not sig.modified_after
    assert "không bị sửa đổi" in sig.summary_vi
    assert all(stamp.ok for stamp in report.document_timestamps)
    assert len(report.document_timestamps) == (1 if level == "B-LTA" else 0)


def _wanting_once_signed(data: bytes) -> list[str]:
    """A stand-in check that finds fault with any signed document, and always with one thing."""
    found = ["ISO 19005-2 6.1.3: an old fault of the input"]
    if b"/ByteRange" in data:
        found.append("ISO 19005-2 6.6.2.1: XMP packet missing")
    return found


def test_output_check_refuses_what_signing_broke(digitized: bytes, signer: SimpleSigner) -> None:
    """A finding the input did not have refuses the signed bytes with disposition "fail"."""
    stamp = StampText(TEST_SIGNER, TEST_OFFICE, signed_at=TEST_SIGNED_AT)
    assert sign_pdf(digitized, signer, SignOptions(stamp=stamp, output_check=check_pdfa))
    with pytest.raises(SigningError) as caught:
        sign_pdf(digitized, signer, SignOptions(stamp=stamp, output_check=_wanting_once_signed))
    assert caught.value.disposition == "fail"
    assert "PDF/A" in caught.value.message_vi and "6.6.2.1" in caught.value.message_vi
    assert "old fault" not in caught.value.message_vi


@pytest.mark.django_db
def test_office_signatures_are_checked_against_pdfa() -> None:
    """Every office's signing options carry the PDF/A check of the digitize stage."""
    office = Office.objects.create(code="xa-kiem-tra", name=TEST_OFFICE)
    stamp = StampText(TEST_SIGNER, TEST_OFFICE, signed_at=TEST_SIGNED_AT)
    assert office_sign_options(office, stamp).output_check is check_pdfa
