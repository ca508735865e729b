"""The assembled PDF/A-2b's metadata (XMP, Info, NFC) and structure (intent, /ID, fonts, no JS)."""

from __future__ import annotations

import io
import unicodedata
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import ImageCms
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, StreamObject

from digitize.assemble import DossierMetadata, assemble_pdf
from tests.digitize.conftest import DOSSIER, Assembled
from tests.support.pdfs import catalog as _catalog
from tests.support.pdfs import info as _info
from tests.support.pdfs import pdf_date as _pdf_date
from tests.support.pdfs import resolved as _obj
from tests.support.text import nfd as _nfd

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "motcua": "https://motcua.gov.vn/ns/dossier/1.0/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "rdf": RDF,
}


def _xmp(reader: PdfReader) -> ET.Element:
    metadata = _obj(_catalog(reader)["/Metadata"])
    assert isinstance(metadata, StreamObject)
    return ET.fromstring(metadata.get_data())


def _value(root: ET.Element, name: str) -> str:
    prefix, local = name.split(":")
    element = root.find(f".//{{{NS[prefix]}}}{local}")
    assert element is not None, name
    item = element.find(f".//{{{RDF}}}li")
    text = (item if item is not None else element).text
    assert text is not None, name
    return text


def test_xmp_declares_pdfa_2b(assembled: Assembled) -> None:
    """The XMP packet identifies the file as PDF/A-2 conformance B."""
    root = _xmp(assembled.reader)
    assert _value(root, "pdfaid:part") == "2"
    assert _value(root, "pdfaid:conformance") == "B"


def test_xmp_carries_the_dossier_in_nfc(assembled: Assembled) -> None:
    """The motcua namespace holds every dossier field, NFC, dates in UTC."""
    root = _xmp(assembled.reader)
    assert _value(root, "motcua:code") == DOSSIER.code
    assert _value(root, "motcua:office") == "UBND xã Phước Thiền"
    assert _value(root, "motcua:procedure") == "Đăng ký khai sinh"
    assert _value(root, "motcua:applicant") == "Trần Thị Bích Ngọc"
    assert _value(root, "motcua:receivedAt") == "2025-03-12T01:30:00+00:00"
    assert _value(root, "motcua:dueAt") == "2025-03-14T09:00:00+00:00"
    assert unicodedata.is_normalized("NFC", ET.tostring(root, encoding="unicode"))


def test_xmp_describes_the_motcua_namespace_for_pdfa(assembled: Assembled) -> None:
    """A PDF/A extension schema declares the motcua namespace and each of its properties."""
    root = _xmp(assembled.reader)
    assert _value(root, "pdfaSchema:namespaceURI") == NS["motcua"]
    assert _value(root, "pdfaSchema:prefix") == "motcua"
    names = {e.text for e in root.iter("{http://www.aiim.org/pdfa/ns/property#}name")}
    assert names == {"code", "office", "procedure", "applicant", "receivedAt", "dueAt"}


def test_info_and_xmp_say_the_same(assembled: Assembled) -> None:
    """Info entries equal their XMP counterparts and the title defaults to the dossier code."""
    info = _info(assembled.reader)
    root = _xmp(assembled.reader)
    assert info["/Title"] == _value(root, "dc:title") == f"Hồ sơ {DOSSIER.code}"
    assert info["/Author"] == _value(root, "dc:creator") == "UBND xã Phước Thiền"
    assert info["/Subject"] == _value(root, "dc:description") == "Đăng ký khai sinh"
    assert info["/Keywords"] == _value(root, "pdf:Keywords") == DOSSIER.code
    assert info["/Creator"] == _value(root, "xmp:CreatorTool") == "motcua"
    assert info["/Producer"] == _value(root, "pdf:Producer")
    created = _pdf_date(info["/CreationDate"])
    assert created == datetime.fromisoformat(_value(root, "xmp:CreateDate"))
    assert _pdf_date(info["/ModDate"]) == datetime.fromisoformat(_value(root, "xmp:ModifyDate"))
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=10)


def test_metadata_stream_is_plain_xml(assembled: Assembled) -> None:
    """The XMP stream is typed /Metadata /XML and left uncompressed, as PDF/A requires."""
    metadata = _obj(_catalog(assembled.reader)["/Metadata"])
    assert metadata["/Type"] == "/Metadata"
    assert metadata["/Subtype"] == "/XML"
    assert "/Filter" not in metadata
    assert b"<?xpacket end=" in assembled.path.read_bytes()


def test_srgb_output_intent_embeds_an_icc_profile(assembled: Assembled) -> None:
    """The catalog has a GTS_PDFA1 OutputIntent carrying an RGB ICC profile of sRGB."""
    [intent] = [_obj(i) for i in _catalog(assembled.reader)["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"].get_object()
    assert profile["/N"] == 3
    icc = profile.get_data()
    assert icc[36:40] == b"acsp"
    assert icc[16:20] == b"RGB "
    description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    assert "sRGB" in description


def test_file_has_identifier_and_pdf_17_header(assembled: Assembled) -> None:
    """The trailer carries a two-part /ID and the file opens with a 1.7 header and binary line."""
    ids = _obj(assembled.reader.trailer["/ID"])
    assert len(ids) == 2
    assert all(len(bytes(part.original_bytes)) == 16 for part in ids)
    head = assembled.path.read_bytes()[:20]
    assert head.startswith(b"%PDF-1.7\n%")
    assert all(byte > 127 for byte in head[10:14])


def test_no_encryption_scripts_or_actions(assembled: Assembled) -> None:
    """The file has no encryption, JavaScript, open action, launch or additional actions."""
    raw = assembled.path.read_bytes()
    root = _catalog(assembled.reader)
    assert "/Encrypt" not in assembled.reader.trailer
    assert not {"/OpenAction", "/AA", "/Names", "/AcroForm"} & set(root.keys())
    for marker in (b"/JavaScript", b"/JS", b"/OpenAction", b"/Launch", b"/Encrypt"):
        assert marker not in raw


def test_all_fonts_are_embedded(assembled: Assembled) -> None:
    """Every font used by the text layer (a form XObject on each page) carries its program."""
    seen = 0
    for page in assembled.reader.pages:
        xobjects = _obj(_obj(page["/Resources"])["/XObject"]).values()
        [form] = [x.get_object() for x in xobjects if x.get_object()["/Subtype"] == "/Form"]
        fonts = _obj(_obj(form["/Resources"])["/Font"])
        for ref in fonts.values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            targets = [d.get_object() for d in descendants] if descendants else [font]
            for target in targets:
                descriptor = target["/FontDescriptor"].get_object()
                assert isinstance(descriptor, DictionaryObject)
                assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys())
                seen += 1
    assert seen >= 3


def test_title_without_metadata_is_generic(assembled: Assembled, tmp_path: Path) -> None:
    """Without dossier metadata the PDF gets a generic title and no dossier namespace."""
    out = tmp_path / "plain.pdf"
    assemble_pdf([(assembled.pages[1], assembled.ocrs[1])], out)
    reader = PdfReader(out)
    assert _info(reader)["/Title"] == "Tài liệu số hóa"
    assert "/Author" not in _info(reader)
    assert _xmp(reader).find(f".//{{{NS['motcua']}}}code") is None
    assert _value(_xmp(reader), "pdfaid:part") == "2"


def test_explicit_title_wins(assembled: Assembled, tmp_path: Path) -> None:
    """A title given in the metadata is used as is (NFC) in Info and XMP."""
    out = tmp_path / "titled.pdf"
    metadata = DossierMetadata(
        code="X-1", office="A", procedure="B", applicant="C", title=_nfd("Giấy khai sinh")
    )
    assemble_pdf([(assembled.pages[1], assembled.ocrs[1])], out, metadata)
    reader = PdfReader(out)
    assert _info(reader)["/Title"] == "Giấy khai sinh" == _value(_xmp(reader), "dc:title")


def test_control_characters_do_not_break_xmp(assembled: Assembled, tmp_path: Path) -> None:
    """Control characters pasted into dossier fields are dropped, keeping the XMP valid XML."""
    out = tmp_path / "ctrl.pdf"
    metadata = DossierMetadata(code="X-2", office="A", procedure="B", applicant="Lê\x07 Văn\x00 C")
    assemble_pdf([(assembled.pages[1], assembled.ocrs[1])], out, metadata)
    assert _value(_xmp(PdfReader(out)), "motcua:applicant") == "Lê Văn C"
