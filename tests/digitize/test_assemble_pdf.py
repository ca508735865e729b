"""Assembling the searchable PDF/A-2b: pages, text layer, metadata, colour and safety."""

from __future__ import annotations

import io
import re
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageCms, ImageFilter
from pypdf import PdfReader
from pypdf.generic import Destination, DictionaryObject, PdfObject, StreamObject

from digitize.assemble import DossierMetadata, assemble_pdf
from digitize.errors import AssembleError
from digitize.ocr import OcrSettings, PageOcr, ocr_page
from digitize.pages import PageImage, split_pages
from digitize.textlayer import read_layout
from tests.support.degrade import add_seal
from tests.support.scans import corpus_paragraphs, render_page, write_scan
from tests.support.text import cer

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
HANOI = timezone(timedelta(hours=7))


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


DOSSIER = DossierMetadata(
    code="000.00.07.H29-250312-0042",
    office=_nfd("UBND xã Phước Thiền"),
    procedure=_nfd("Đăng ký khai sinh"),
    applicant=_nfd("Trần Thị Bích Ngọc"),
    received_at=datetime(2025, 3, 12, 8, 30, tzinfo=HANOI),
    due_at=datetime(2025, 3, 14, 9, 0, tzinfo=UTC),
)
"""Dossier metadata typed in decomposed Unicode (NFD), as some keyboards produce it."""


@dataclass(frozen=True)
class Assembled:
    """Rendered pages, their OCR, and the PDF assembled from them with dossier metadata."""

    pages: tuple[PageImage, ...]
    ocrs: tuple[PageOcr, ...]
    references: tuple[str, ...]
    path: Path
    reader: PdfReader


@pytest.fixture(scope="module")
def assembled(tmp_path_factory: pytest.TempPathFactory) -> Assembled:
    """Grey 300 dpi, bilevel 200 dpi and colour 300 dpi pages, OCR'd and assembled."""
    root = tmp_path_factory.mktemp("assemble")
    texts = corpus_paragraphs(4, seed=11)
    scans = root / "scans"
    scans.mkdir()
    references = (
        write_scan(scans / "1.png", "\n".join(texts[:2]), dpi=300, mode="L"),
        write_scan(scans / "2.tif", texts[2], dpi=200, mode="1"),
        write_scan(scans / "3.jpg", texts[3], dpi=300, mode="RGB"),
    )
    pages = split_pages(sorted(scans.iterdir()), root / "work")
    ocrs = [ocr_page(page, root / "ocr", OcrSettings()) for page in pages]
    out = root / "out" / "ho-so.pdf"
    assemble_pdf(list(zip(pages, ocrs, strict=True)), out, DOSSIER)
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    return Assembled(tuple(pages), tuple(ocrs), references, out, reader)


def _obj(value: object) -> Any:
    """A pypdf object resolved, typed loosely for reading in assertions."""
    return value.get_object() if isinstance(value, PdfObject) else value


def _catalog(reader: PdfReader) -> Any:
    return _obj(reader.trailer["/Root"])


def _info(reader: PdfReader) -> dict[str, str]:
    assert reader.metadata is not None
    return {str(key): str(value) for key, value in reader.metadata.items()}


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


def _pdf_date(value: str) -> datetime:
    return datetime.strptime(value.replace("'", ""), "D:%Y%m%d%H%M%S%z")


def test_pdf_has_one_page_per_scan(assembled: Assembled) -> None:
    """pypdf reads the result and finds one page per page image, in order."""
    assert len(assembled.reader.pages) == 3
    assert not assembled.reader.is_encrypted


def test_text_layer_extracts_like_the_scanned_text(assembled: Assembled) -> None:
    """The invisible text extracted from each page matches the rendered text within 3% CER."""
    for page, reference in zip(assembled.reader.pages, assembled.references, strict=True):
        assert cer(reference, page.extract_text()) < 0.03


def test_page_size_follows_pixels_and_dpi(assembled: Assembled) -> None:
    """Each page measures its pixel size divided by its dpi, in points."""
    for pdf_page, page in zip(assembled.reader.pages, assembled.pages, strict=True):
        assert float(pdf_page.mediabox.width) == pytest.approx(page.width / page.dpi * 72, abs=0.01)
        assert float(pdf_page.mediabox.height) == pytest.approx(
            page.height / page.dpi * 72, abs=0.01
        )
    assert [p.dpi for p in assembled.pages] == [300, 200, 300]


def _images(page: Any) -> list[Any]:
    """The image XObjects a page draws (its text layer is a form XObject beside them)."""
    xobjects = _obj(_obj(page["/Resources"])["/XObject"])
    found = [x.get_object() for x in xobjects.values()]
    return [x for x in found if x["/Subtype"] == "/Image"]


def _filter(image: Any) -> str:
    filters = image["/Filter"]
    return str(filters if isinstance(filters, str) else filters[0])


def test_text_pages_are_stored_as_full_resolution_g4(assembled: Assembled) -> None:
    """Grey, bilevel and black-on-white colour text pages are stored as 1-bit G4 at full size."""
    for pdf_page, page in zip(assembled.reader.pages, assembled.pages, strict=True):
        [image] = _images(pdf_page)
        assert _filter(image) == "/CCITTFaxDecode"
        assert image["/BitsPerComponent"] == 1
        assert image["/ColorSpace"] == "/DeviceGray"
        assert (image["/Width"], image["/Height"]) == (page.width, page.height)


def test_g4_image_keeps_the_scanned_pixels(assembled: Assembled) -> None:
    """The 1-bit image of the grey page decodes to the page cut near mid-grey, ink black."""
    decoded = assembled.reader.pages[0].images[0].image
    assert decoded is not None
    with Image.open(assembled.pages[0].path) as source:
        expected = source.convert("L").point(lambda v: 255 if v > 127 else 0)
    differing = ImageChops.difference(decoded.convert("L"), expected).histogram()[255]
    ink = expected.histogram()[0]
    assert ink > 0.005 * expected.width * expected.height
    assert differing < 0.03 * ink


def _single_page(tmp_path: Path, image: Image.Image, ocr: PageOcr) -> Any:
    """Assemble one page from ``image`` (any text layer will do) and return its image XObject."""
    path = tmp_path / f"page.{'png'}"
    image.save(path, dpi=(300, 300))
    page = PageImage(path=path, dpi=300, width=image.width, height=image.height, mode=image.mode)
    out = tmp_path / "one.pdf"
    assemble_pdf([(page, ocr)], out)
    [found] = _images(PdfReader(out).pages[0])
    return found


def test_grey_page_with_a_photo_stays_grey_jpeg(assembled: Assembled, tmp_path: Path) -> None:
    """A grey page holding a photograph is kept as grey JPEG, not cut to black and white."""
    page, _ = render_page(corpus_paragraphs(1, seed=5)[0], dpi=300, mode="L")
    photo = Image.radial_gradient("L").resize((420, 560)).filter(ImageFilter.GaussianBlur(4))
    page.paste(photo, (1500, 1800))
    image = _single_page(tmp_path, page, assembled.ocrs[0])
    assert (_filter(image), image["/ColorSpace"]) == ("/DCTDecode", "/DeviceGray")


def test_red_seal_keeps_its_colour(assembled: Assembled, tmp_path: Path) -> None:
    """A page with a red seal is stored as colour JPEG and the seal is still red."""
    page, _ = render_page(corpus_paragraphs(1, seed=6)[0], dpi=300, mode="L")
    sealed = add_seal(page, centre=(1240, 1000), seed=1)
    image = _single_page(tmp_path, sealed, assembled.ocrs[0])
    assert (_filter(image), image["/ColorSpace"]) == ("/DCTDecode", "/DeviceRGB")
    decoded = PdfReader(tmp_path / "one.pdf").pages[0].images[0].image
    assert decoded is not None
    red, green, _ = decoded.convert("RGB").split()
    reddish = ImageChops.subtract(red, green).histogram()
    assert sum(reddish[100:]) > 1000


Box = tuple[float, float, float, float]


def _pdftotext_words(path: Path, page: int) -> list[Box]:
    """Boxes (left, top, right, bottom, in points) of the words pdftotext finds on one page."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    pattern = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"')
    return [(float(a), float(b), float(c), float(d)) for a, b, c, d in pattern.findall(html)]


def _tesseract_words(ocr: PageOcr, dpi: int) -> list[Box]:
    """Boxes (left, top, right, bottom, in points) of the words in the page's layout."""
    scale = 72 / dpi
    layout = read_layout(ocr.layout)
    return [
        (left * scale, top * scale, right * scale, bottom * scale)
        for line in layout.lines
        for word in line.words
        for left, top, right, bottom in [word.box]
    ]


def test_text_layer_lies_over_the_scanned_words(assembled: Assembled) -> None:
    """Each recognised word spans, in the PDF, the place Tesseract saw it on the scan."""
    seen = _tesseract_words(assembled.ocrs[0], assembled.pages[0].dpi)
    placed = _pdftotext_words(assembled.path, 1)
    assert len(placed) == len(seen) > 100
    for (left, top, right, bottom), (x0, y0, x1, y1) in zip(seen, placed, strict=True):
        assert abs(x0 - left) < 2
        assert x0 - 1 < (left + right) / 2 < x1 + 1
        assert y0 < (top + bottom) / 2 < y1


def test_parts_become_bookmarks(assembled: Assembled, tmp_path: Path) -> None:
    """Each document part is a bookmark (NFC title) opening its first page, shown on opening."""
    out = tmp_path / "parts.pdf"
    parts = [(_nfd("Đơn đề nghị"), 0), ("  Giấy   tờ kèm theo ", 2), ("", 1)]
    assemble_pdf(list(zip(assembled.pages, assembled.ocrs, strict=True)), out, parts=parts)
    reader = PdfReader(out)
    items = [item for item in reader.outline if isinstance(item, Destination)]
    found = [(item.title, reader.get_destination_page_number(item)) for item in items]
    assert found == [("Đơn đề nghị", 0), ("Giấy tờ kèm theo", 2), ("Phần 3", 1)]
    assert _catalog(reader)["/PageMode"] == "/UseOutlines"


def test_part_beyond_the_last_page_is_refused(assembled: Assembled, tmp_path: Path) -> None:
    """A bookmark pointing past the last page fails the assembly and writes nothing."""
    out = tmp_path / "parts.pdf"
    with pytest.raises(AssembleError, match="trang 4"):
        assemble_pdf(
            list(zip(assembled.pages, assembled.ocrs, strict=True)), out, parts=[("Phụ lục", 3)]
        )
    assert not out.exists()


def test_no_parts_no_outline(assembled: Assembled) -> None:
    """Without parts the document has no outline."""
    assert "/Outlines" not in _catalog(assembled.reader)


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


def test_failure_leaves_existing_output_untouched(assembled: Assembled, tmp_path: Path) -> None:
    """When a text layer is missing, assembly fails and the previous output stays as it was."""
    out = tmp_path / "ho-so.pdf"
    out.write_bytes(b"previous result")
    broken = PageOcr(text="", confidence=0.0, layout=tmp_path / "missing.json")
    with pytest.raises(AssembleError) as caught:
        assemble_pdf([(assembled.pages[0], assembled.ocrs[0]), (assembled.pages[1], broken)], out)
    assert "trang 2" in caught.value.message_vi
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["ho-so.pdf"]


def test_rewrite_replaces_output_without_temporaries(assembled: Assembled, tmp_path: Path) -> None:
    """Assembling over an existing file replaces it whole and leaves no temporary file."""
    out = tmp_path / "ho-so.pdf"
    out.write_bytes(b"previous result")
    assemble_pdf([(assembled.pages[1], assembled.ocrs[1])], out)
    assert len(PdfReader(out).pages) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ho-so.pdf"]


def test_no_pages_is_an_error(tmp_path: Path) -> None:
    """Assembling nothing is refused with an AssembleError and writes no file."""
    with pytest.raises(AssembleError):
        assemble_pdf([], tmp_path / "empty.pdf")
    assert not (tmp_path / "empty.pdf").exists()


def test_assembly_with_an_identity_is_reproducible(assembled: Assembled, tmp_path: Path) -> None:
    """The same pages with the same identity give the same bytes; another identity does not."""
    pages = list(zip(assembled.pages, assembled.ocrs, strict=True))
    created = datetime(2026, 11, 20, 2, 15, tzinfo=UTC)
    first, again, other = tmp_path / "1.pdf", tmp_path / "2.pdf", tmp_path / "3.pdf"
    assemble_pdf(pages, first, DOSSIER, identity=("42", created))
    assemble_pdf(pages, again, DOSSIER, identity=("42", created))
    assemble_pdf(pages, other, DOSSIER, identity=("43", created))
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    reader = PdfReader(first)
    assert _pdf_date(_info(reader)["/CreationDate"]) == created
    file_id = _obj(reader.trailer["/ID"])
    assert file_id[0] == file_id[1]
