"""Tests that edits after signing are reported, while timestamps and validation data are not."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import cast

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper, SimpleSigner
from pyhanko.sign.validation import add_validation_info
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, StreamObject
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from signing.keys.pkcs12 import load_pkcs12_signer
from signing.pades.evidence import revocation_context
from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.pades.timestamps import timestamper_for
from signing.stamp.text import StampText
from signing.verify.check import verify_pdf
from signing.verify.report import VerifyReport
from tests.support.pki import TEST_OFFICE, TEST_PASSPHRASE, TEST_SIGNER
from tests.support.testpki_services import PkiServices, running_pki_services

APPLICANT = "Trần Thị Bình"
"""Applicant named in the XMP metadata of the test document."""

XMP_PACKET = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Hồ sơ HS-0001</rdf:li></rdf:Alt></dc:title>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreateDate>2026-11-20T08:00:00+07:00</xmp:CreateDate>
   <xmp:ModifyDate>2026-11-20T08:00:00+07:00</xmp:ModifyDate>
   <xmp:MetadataDate>2026-11-20T08:00:00+07:00</xmp:MetadataDate>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:motcua="https://motcua.example/ns/1.0/">
   <motcua:dossierCode>HS-0001</motcua:dossierCode>
   <motcua:applicant>{applicant}</motcua:applicant>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def _dossier_pdf(pages: int = 3) -> bytes:
    """A multi-page PDF with Info and XMP metadata, shaped like the digitize output."""
    raw = io.BytesIO()
    drawing = canvas.Canvas(raw, pagesize=A4, invariant=True)
    for number in range(1, pages + 1):
        drawing.setFont("Helvetica", 12)
        drawing.drawString(72, 770, f"QUYET DINH so 12/QD-UBND - trang {number}/{pages}")
        drawing.showPage()
    drawing.save()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw.getvalue())))
    writer.add_metadata({"/Title": "Hồ sơ HS-0001", "/Author": TEST_OFFICE, "/Keywords": "HS-0001"})
    xmp = StreamObject()
    xmp[NameObject("/Type")] = NameObject("/Metadata")
    xmp[NameObject("/Subtype")] = NameObject("/XML")
    xmp.set_data(XMP_PACKET.format(applicant=APPLICANT).encode("utf-8"))
    writer.root_object[NameObject("/Metadata")] = writer._add_object(xmp)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PkiServices]:
    with running_pki_services(tmp_path_factory.mktemp("pki-services")) as running:
        yield running


@pytest.fixture(scope="module")
def signer(services: PkiServices) -> SimpleSigner:
    return load_pkcs12_signer(services.signer_p12, TEST_PASSPHRASE)


@pytest.fixture(scope="module")
def signed(signer: SimpleSigner) -> bytes:
    options = SignOptions(stamp=StampText(signer_name=TEST_SIGNER, office_name=TEST_OFFICE))
    return sign_pdf(_dossier_pdf(), signer, options)


def _verify(pdf: bytes, services: PkiServices) -> VerifyReport:
    return verify_pdf(pdf, [services.trust_root])


def _update(pdf: bytes, change: Callable[[PdfWriter], None]) -> bytes:
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    result = out.getvalue()
    assert result.startswith(pdf)  # an incremental update: the signed bytes are untouched
    return result


def _add_text_stream(writer: PdfWriter) -> None:
    page = writer.pages[1]
    resources = cast(DictionaryObject, page["/Resources"])
    font = next(iter(cast(DictionaryObject, resources["/Font"]).keys()))
    stream = StreamObject()
    stream.set_data(f"BT {font} 28 Tf 72 420 Td (DA HUY KET QUA) Tj ET".encode("ascii"))
    contents = page["/Contents"]
    existing = list(contents) if isinstance(contents, ArrayObject) else [page.raw_get("/Contents")]
    page[NameObject("/Contents")] = ArrayObject([*existing, writer._add_object(stream)])


def _add_page(writer: PdfWriter) -> None:
    writer.add_blank_page()


def _add_annotation(writer: PdfWriter) -> None:
    writer.add_annotation(0, FreeText(text="Đã hủy", rect=(72, 500, 272, 560)))


def _change_info(writer: PdfWriter) -> None:
    writer.add_metadata({"/Title": "Hồ sơ HS-0002"})


def _change_xmp(writer: PdfWriter) -> None:
    metadata = writer.root_object["/Metadata"].get_object()
    assert isinstance(metadata, StreamObject)
    metadata.set_data(XMP_PACKET.format(applicant="Người Khác").encode("utf-8"))


@pytest.mark.parametrize(
    ("change", "levels"),
    [
        (_add_text_stream, {"OTHER"}),
        (_add_page, {"OTHER"}),
        (_add_annotation, {"ANNOTATIONS", "OTHER"}),
        (_change_info, {"OTHER"}),
        (_change_xmp, {"OTHER"}),
    ],
    ids=["text-stream", "page", "annotation", "info", "xmp"],
)
def test_incremental_edit_is_reported(
    change: Callable[[PdfWriter], None], levels: set[str], signed: bytes, services: PkiServices
) -> None:
    """An edit appended after the signature leaves it intact but reports the document modified."""
    report = _verify(_update(signed, change), services)
    (sig,) = report.signatures
    assert sig.intact and sig.valid and sig.trusted
    assert sig.modified_after
    assert sig.modification_level in levels
    assert sig.coverage == "ENTIRE_REVISION"
    assert sig.summary_vi == "Tài liệu đã bị sửa sau khi ký."
    assert not sig.ok and not report.ok


def test_untouched_signed_document_is_ok(signed: bytes, services: PkiServices) -> None:
    """The signed dossier itself verifies, so the failures above come from the edits."""
    report = _verify(signed, services)
    (sig,) = report.signatures
    assert report.ok and sig.modification_level == "NONE" and sig.docmdp == 2


def test_changed_bytes_inside_the_signed_range(signed: bytes, services: PkiServices) -> None:
    """Changing bytes the signature covers (here the page size) breaks integrity."""
    assert signed.count(b"841.8898") >= 1
    tampered = signed.replace(b"841.8898", b"841.8899", 1)
    report = _verify(tampered, services)
    (sig,) = report.signatures
    assert not sig.intact
    assert not sig.ok and not report.ok
    assert "toàn vẹn" in sig.summary_vi


def test_validation_data_and_document_timestamp_afterwards_stay_valid(
    signed: bytes, services: PkiServices
) -> None:
    """A later DSS update and a later document timestamp are allowed and lift the level."""
    reader = PdfFileReader(io.BytesIO(signed))
    (embedded,) = reader.embedded_regular_signatures
    with_dss = add_validation_info(embedded, revocation_context([services.root])).getvalue()
    assert with_dss.startswith(signed)
    report = _verify(with_dss, services)
    (sig,) = report.signatures
    assert report.ok, report.to_dict()
    assert sig.modification_level == "LTA_UPDATES"
    assert sig.validation_data_embedded and sig.revocation == "good"
    assert sig.pades_level == "B-B"  # validation data without a timestamp is no B-LT

    stamper = PdfTimeStamper(timestamper_for(services.tsa_url))
    archived = stamper.timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(with_dss)), "sha256"
    ).getvalue()
    report = _verify(archived, services)
    (sig,) = report.signatures
    (stamp,) = report.document_timestamps
    assert report.ok and stamp.ok
    assert sig.modification_level == "LTA_UPDATES"
    assert sig.pades_level == "B-LTA"


def test_edit_after_a_document_timestamp_is_reported(signed: bytes, services: PkiServices) -> None:
    """Metadata changed after a document timestamp marks both the signature and the timestamp."""
    stamper = PdfTimeStamper(timestamper_for(services.tsa_url))
    stamped = stamper.timestamp_pdf(IncrementalPdfFileWriter(io.BytesIO(signed)), "sha256")
    report = _verify(_update(stamped.getvalue(), _change_info), services)
    (sig,) = report.signatures
    (stamp,) = report.document_timestamps
    assert sig.modified_after and not report.ok
    assert stamp.intact and stamp.trusted and stamp.modified_after and not stamp.ok
