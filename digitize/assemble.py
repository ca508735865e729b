"""Assembling page images and their OCR text layers into one searchable PDF/A-2b file."""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import struct
import unicodedata
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image, ImageCms
from pypdf import PdfWriter
from pypdf import __version__ as pypdf_version
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from digitize.compression import JPEG_QUALITY, EncodedImage, encode_page_image
from digitize.errors import AssembleError
from digitize.ocr import PageOcr
from digitize.pages import PageImage
from digitize.textlayer import (
    FONT_NAME,
    GLYPHLESS_ADVANCE,
    PageLayout,
    cid_to_gid_map,
    glyphless_font_program,
    pdf_number,
    read_layout,
    text_layer_stream,
    to_unicode_cmap,
)

__all__ = ["CREATOR", "JPEG_QUALITY", "MOTCUA_NS", "DossierMetadata", "assemble_pdf"]

CREATOR = "motcua"
"""The application named as the document's creator (Info /Creator, xmp:CreatorTool)."""

PRODUCER = f"motcua digitize (pypdf {pypdf_version}, Pillow, Tesseract)"
"""The software named as the PDF's producer (Info /Producer, pdf:Producer)."""

MOTCUA_NS = "https://motcua.gov.vn/ns/dossier/1.0/"
"""XMP namespace of the dossier properties (prefix ``motcua``)."""

SRGB_CONDITION = "sRGB IEC61966-2.1"
"""Output condition named by the sRGB OutputIntent."""

_PAGE_ERRORS: tuple[type[Exception], ...] = (
    PyPdfError,
    OSError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    Image.DecompressionBombError,
)
"""What reading a page image or text layer, or building its page, may raise."""

_DEFAULT_TITLE = "Tài liệu số hóa"
"""Title of a document assembled without dossier metadata."""


@dataclass(frozen=True)
class DossierMetadata:
    code: str
    """Dossier code (mã hồ sơ) as issued by the one-stop system; Info /Keywords."""

    office: str
    """Name of the receiving office; Info /Author and dc:creator."""

    procedure: str
    """Name of the administrative procedure (thủ tục hành chính); Info /Subject."""

    applicant: str
    """Name of the citizen or business applying; kept in XMP only."""

    received_at: datetime | None = None
    """When the dossier was received (a naive value is taken as UTC)."""

    due_at: datetime | None = None
    """When the result is due by law (a naive value is taken as UTC)."""

    title: str = ""
    """Document title; ``"Hồ sơ <code>"`` when empty."""


def assemble_pdf(
    pages: Sequence[tuple[PageImage, PageOcr]],
    out: Path,
    metadata: DossierMetadata | None = None,
    *,
    parts: Sequence[tuple[str, int]] | None = None,
    identity: tuple[str, datetime] | None = None,
) -> None:
    """Write one searchable PDF/A-2b file from page images and their OCR text layers.

    ``identity`` (a stable name for the document and its creation time) makes the
    output reproducible: assembling the same pages again gives the same bytes, so a
    retried assembly lands on the same content-addressed file. Without it the
    file gets a fresh identifier and the current time.

    Each page is its scan sized from its resolution, with Tesseract's invisible
    text laid on top as a form XObject scaled to the same box. Grey pages that are
    plain text on paper are stored as 1-bit CCITT G4 at full resolution, other
    grey and colour pages as JPEG (colour only when the page has some). ``parts``
    are bookmarks, (title, index of the part's first page); none by default. The
    document gets matching Info and XMP metadata (dossier fields under the
    ``motcua`` namespace), an sRGB OutputIntent and a file identifier. The file
    is written under a temporary name beside ``out`` and renamed over it. Raises
    :class:`AssembleError` when a page or text layer cannot be read or a part
    points at no page.
    """
    if not pages:
        raise AssembleError("Không có trang nào để ghép thành tệp PDF")
    outline = _outline(parts or (), len(pages))
    writer = PdfWriter()
    workers = max(1, min(len(pages), os.cpu_count() or 1, 4))
    # Pillow decodes and encodes without the GIL, so pages compress in parallel.
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assemble")
    try:
        encoded = [pool.submit(encode_page_image, page) for page, _ in pages]
        font = _glyphless_font(writer)
        for number, ((page, ocr), image) in enumerate(zip(pages, encoded, strict=True), start=1):
            _add_page(writer, number, page, ocr, image, font)
    finally:
        pool.shutdown(cancel_futures=True)
    for title, index in outline:
        writer.add_outline_item(title=title, page_number=index)
    if outline:
        writer.page_mode = "/UseOutlines"
    if identity is None:
        document_uuid = uuid.uuid4()
        now = datetime.now(UTC).replace(microsecond=0)
    else:
        document_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"motcua:document:{identity[0]}")
        now = _utc(identity[1]).replace(microsecond=0)
    _set_metadata(writer, metadata, now, document_uuid)
    _add_output_intent(writer)
    writer.compress_identical_objects()
    writer.pdf_header = "%PDF-1.7"
    file_id = ByteStringObject(document_uuid.bytes)
    writer._ID = ArrayObject((file_id, file_id))
    _write_atomically(writer, out)


def _outline(parts: Sequence[tuple[str, int]], count: int) -> list[tuple[str, int]]:
    """Bookmark titles (NFC; a default for a blank one) and page indexes checked against ``count``.

    Raises :class:`AssembleError` when a part points at no page.
    """
    outline: list[tuple[str, int]] = []
    for number, (title, index) in enumerate(parts, start=1):
        if not 0 <= index < count:
            raise AssembleError(
                f"Mục lục '{_nfc(title)}' trỏ tới trang {index + 1}, "
                f"nhưng tài liệu chỉ có {count} trang"
            )
        outline.append((" ".join(_nfc(title).split()) or f"Phần {number}", index))
    return outline


def _add_page(
    writer: PdfWriter,
    number: int,
    page: PageImage,
    ocr: PageOcr,
    encoded: Future[EncodedImage],
    font: IndirectObject,
) -> None:
    """Add one page: its image filling the page and its text layer over it."""
    try:
        image = encoded.result()
        layout = read_layout(ocr.layout)
        width = image.width / page.dpi * 72
        height = image.height / page.dpi * 72
        if layout.width <= 0 or layout.height <= 0 or layout.dpi <= 0:
            raise ValueError("text layer has an empty page")
        # The layout is in points of the image it was recognised on: the kept image
        # itself, so the scale is 1 unless the two disagree.
        sx = width / (layout.width / layout.dpi * 72)
        sy = height / (layout.height / layout.dpi * 72)
        pdf_page = writer.add_blank_page(width, height)
        drawing = (
            f"q {pdf_number(width, 4)} 0 0 {pdf_number(height, 4)} 0 0 cm /Im0 Do Q\n"
            f"q {pdf_number(sx, 4)} 0 0 {pdf_number(sy, 4)} 0 0 cm /Ocr0 Do Q\n"
        )
        content = StreamObject()
        content.set_data(drawing.encode("ascii"))
        text = _text_form(layout, font)
        pdf_page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/XObject"): DictionaryObject(
                    {
                        NameObject("/Im0"): writer._add_object(_image_xobject(image)),
                        NameObject("/Ocr0"): writer._add_object(text),
                    }
                )
            }
        )
        pdf_page[NameObject("/Contents")] = writer._add_object(content.flate_encode())
    except _PAGE_ERRORS as exc:
        raise AssembleError(
            f"Không ghép được trang {number} vào tệp PDF", detail=type(exc).__name__
        ) from None


def _image_xobject(image: EncodedImage) -> StreamObject:
    """The image XObject holding the compressed samples as they are."""
    stream = StreamObject()
    stream.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(image.width),
            NameObject("/Height"): NumberObject(image.height),
            NameObject("/ColorSpace"): NameObject(image.colour_space),
            NameObject("/BitsPerComponent"): NumberObject(
                1 if image.filter == "/CCITTFaxDecode" else 8
            ),
            NameObject("/Filter"): NameObject(image.filter),
        }
    )
    if image.filter == "/CCITTFaxDecode":
        stream[NameObject("/DecodeParms")] = DictionaryObject(
            {
                NameObject("/K"): NumberObject(-1),
                NameObject("/Columns"): NumberObject(image.width),
                NameObject("/Rows"): NumberObject(image.height),
                NameObject("/BlackIs1"): BooleanObject(image.black_is_1),
            }
        )
    stream.set_data(image.data)
    return stream


def _text_form(layout: PageLayout, font: IndirectObject) -> StreamObject:
    """The page's invisible words as a form XObject the size of the page, in points."""
    width = layout.width / layout.dpi * 72
    height = layout.height / layout.dpi * 72
    form = StreamObject()
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(
                FloatObject(v) for v in (0, 0, round(width, 4), round(height, 4))
            ),
            NameObject("/Resources"): DictionaryObject(
                {NameObject("/Font"): DictionaryObject({NameObject("/F0"): font})}
            ),
        }
    )
    form.set_data(text_layer_stream(layout, "/F0"))
    return form.flate_encode()


def _glyphless_font(writer: PdfWriter) -> IndirectObject:
    """Add the glyphless Type 0 font the text layers of every page share, once a document."""
    program = StreamObject()
    program.set_data(glyphless_font_program())
    program = program.flate_encode()
    program[NameObject("/Length1")] = NumberObject(len(glyphless_font_program()))
    descriptor = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): NameObject(f"/{FONT_NAME}"),
            NameObject("/Flags"): NumberObject(5),  # fixed pitch, symbolic
            NameObject("/FontBBox"): ArrayObject(
                NumberObject(v) for v in (0, 0, GLYPHLESS_ADVANCE, 1000)
            ),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): NumberObject(1000),
            NameObject("/Descent"): NumberObject(0),
            NameObject("/CapHeight"): NumberObject(1000),
            NameObject("/StemV"): NumberObject(80),
            NameObject("/FontFile2"): writer._add_object(program),
        }
    )
    gid_map = StreamObject()
    gid_map.set_data(cid_to_gid_map())
    descendant = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType2"),
            NameObject("/BaseFont"): NameObject(f"/{FONT_NAME}"),
            NameObject("/CIDSystemInfo"): DictionaryObject(
                {
                    NameObject("/Registry"): TextStringObject("Adobe"),
                    NameObject("/Ordering"): TextStringObject("Identity"),
                    NameObject("/Supplement"): NumberObject(0),
                }
            ),
            NameObject("/FontDescriptor"): writer._add_object(descriptor),
            NameObject("/DW"): NumberObject(GLYPHLESS_ADVANCE),
            NameObject("/CIDToGIDMap"): writer._add_object(gid_map.flate_encode()),
        }
    )
    to_unicode = StreamObject()
    to_unicode.set_data(to_unicode_cmap())
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type0"),
            NameObject("/BaseFont"): NameObject(f"/{FONT_NAME}"),
            NameObject("/Encoding"): NameObject("/Identity-H"),
            NameObject("/DescendantFonts"): ArrayObject([writer._add_object(descendant)]),
            NameObject("/ToUnicode"): writer._add_object(to_unicode.flate_encode()),
        }
    )
    return writer._add_object(font)


_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")
"""Control characters, which XML (and so XMP) cannot carry, mapped to nothing."""


def _nfc(text: str) -> str:
    """Text in Unicode normal form C, without control characters."""
    return unicodedata.normalize("NFC", text).translate(_CONTROL)


def _utc(moment: datetime) -> datetime:
    """A datetime in UTC (a naive value is taken as already UTC), to the second."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0)


def _pdf_date(moment: datetime) -> str:
    """A UTC datetime as a PDF date string."""
    return _utc(moment).strftime("D:%Y%m%d%H%M%S+00'00'")


def _xmp_date(moment: datetime) -> str:
    """A UTC datetime as an XMP (ISO 8601) date."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _set_metadata(
    writer: PdfWriter, metadata: DossierMetadata | None, now: datetime, document_uuid: uuid.UUID
) -> None:
    """Give the document Info entries and an XMP packet that say the same things."""
    title = _nfc(metadata.title or f"Hồ sơ {metadata.code}") if metadata else _DEFAULT_TITLE
    info: dict[str, str] = {"/Title": title}
    if metadata is not None:
        info["/Author"] = _nfc(metadata.office)
        info["/Subject"] = _nfc(metadata.procedure)
        info["/Keywords"] = _nfc(metadata.code)
    info |= {
        "/Creator": CREATOR,
        "/Producer": PRODUCER,
        "/CreationDate": _pdf_date(now),
        "/ModDate": _pdf_date(now),
    }
    writer.metadata = {NameObject(k): TextStringObject(v) for k, v in info.items()}

    stream = StreamObject()
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
    stream.set_data(_xmp_packet(title, metadata, now, document_uuid).encode("utf-8"))
    writer.root_object[NameObject("/Metadata")] = writer._add_object(stream)
    writer.root_object[NameObject("/Lang")] = TextStringObject("vi")


def _description(prefix: str, uri: str, body: str) -> str:
    """One rdf:Description holding the properties of one namespace."""
    return f'  <rdf:Description rdf:about="" xmlns:{prefix}="{uri}">\n{body}  </rdf:Description>\n'


def _prop(name: str, value: str) -> str:
    """A simple text XMP property."""
    return f"   <{name}>{escape(value)}</{name}>\n"


def _lang_alt(name: str, value: str) -> str:
    """A language-alternative XMP property with only the default language."""
    return (
        f'   <{name}><rdf:Alt><rdf:li xml:lang="x-default">{escape(value)}</rdf:li>'
        f"</rdf:Alt></{name}>\n"
    )


_DOSSIER_PROPERTIES = (
    ("code", "Text", "Mã hồ sơ"),
    ("office", "Text", "Cơ quan tiếp nhận"),
    ("procedure", "Text", "Thủ tục hành chính"),
    ("applicant", "Text", "Người nộp hồ sơ"),
    ("receivedAt", "Date", "Thời điểm tiếp nhận"),
    ("dueAt", "Date", "Thời hạn trả kết quả"),
)
"""The dossier properties of the ``motcua`` XMP namespace: name, XMP type, description."""


def _extension_schema() -> str:
    """The PDF/A extension schema describing the ``motcua`` namespace."""
    properties = "".join(
        '       <rdf:li rdf:parseType="Resource">\n'
        f"        <pdfaProperty:name>{name}</pdfaProperty:name>\n"
        f"        <pdfaProperty:valueType>{kind}</pdfaProperty:valueType>\n"
        "        <pdfaProperty:category>external</pdfaProperty:category>\n"
        f"        <pdfaProperty:description>{escape(text)}</pdfaProperty:description>\n"
        "       </rdf:li>\n"
        for name, kind, text in _DOSSIER_PROPERTIES
    )
    return (
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"\n'
        '    xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"\n'
        '    xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">\n'
        "   <pdfaExtension:schemas><rdf:Bag>\n"
        '    <rdf:li rdf:parseType="Resource">\n'
        "     <pdfaSchema:schema>Hồ sơ một cửa (motcua)</pdfaSchema:schema>\n"
        f"     <pdfaSchema:namespaceURI>{MOTCUA_NS}</pdfaSchema:namespaceURI>\n"
        "     <pdfaSchema:prefix>motcua</pdfaSchema:prefix>\n"
        "     <pdfaSchema:property><rdf:Seq>\n"
        f"{properties}"
        "     </rdf:Seq></pdfaSchema:property>\n"
        "    </rdf:li>\n"
        "   </rdf:Bag></pdfaExtension:schemas>\n"
        "  </rdf:Description>\n"
    )


def _xmp_packet(
    title: str, metadata: DossierMetadata | None, now: datetime, document_uuid: uuid.UUID
) -> str:
    """The XMP packet of a document: PDF/A-2b identification, Dublin Core, dates, dossier."""
    parts = [
        _description(
            "pdfaid",
            "http://www.aiim.org/pdfa/ns/id/",
            _prop("pdfaid:part", "2") + _prop("pdfaid:conformance", "B"),
        )
    ]
    dublin_core = _prop("dc:format", "application/pdf") + _lang_alt("dc:title", title)
    if metadata is not None:
        dublin_core += (
            f"   <dc:creator><rdf:Seq><rdf:li>{escape(_nfc(metadata.office))}</rdf:li>"
            "</rdf:Seq></dc:creator>\n"
        )
        dublin_core += _lang_alt("dc:description", _nfc(metadata.procedure))
    dublin_core += "   <dc:language><rdf:Bag><rdf:li>vi</rdf:li></rdf:Bag></dc:language>\n"
    parts.append(_description("dc", "http://purl.org/dc/elements/1.1/", dublin_core))
    parts.append(
        _description(
            "xmp",
            "http://ns.adobe.com/xap/1.0/",
            _prop("xmp:CreateDate", _xmp_date(now))
            + _prop("xmp:ModifyDate", _xmp_date(now))
            + _prop("xmp:MetadataDate", _xmp_date(now))
            + _prop("xmp:CreatorTool", CREATOR),
        )
    )
    pdf_props = _prop("pdf:Producer", PRODUCER)
    if metadata is not None:
        pdf_props += _prop("pdf:Keywords", _nfc(metadata.code))
    parts.append(_description("pdf", "http://ns.adobe.com/pdf/1.3/", pdf_props))
    document_id = f"uuid:{document_uuid}"
    parts.append(
        _description(
            "xmpMM",
            "http://ns.adobe.com/xap/1.0/mm/",
            _prop("xmpMM:DocumentID", document_id) + _prop("xmpMM:InstanceID", document_id),
        )
    )
    if metadata is not None:
        dossier = (
            _prop("motcua:code", _nfc(metadata.code))
            + _prop("motcua:office", _nfc(metadata.office))
            + _prop("motcua:procedure", _nfc(metadata.procedure))
            + _prop("motcua:applicant", _nfc(metadata.applicant))
        )
        if metadata.received_at is not None:
            dossier += _prop("motcua:receivedAt", _xmp_date(metadata.received_at))
        if metadata.due_at is not None:
            dossier += _prop("motcua:dueAt", _xmp_date(metadata.due_at))
        parts.append(_description("motcua", MOTCUA_NS, dossier))
        parts.append(_extension_schema())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        + "".join(parts)
        + " </rdf:RDF>\n</x:xmpmeta>\n"
        + (" " * 99 + "\n") * 20  # padding so the packet can be edited in place
        + '<?xpacket end="w"?>'
    )


@functools.cache
def srgb_profile() -> bytes:
    """The sRGB ICC profile, the same bytes every time (so outputs are reproducible).

    LittleCMS stamps a new profile with the current time; the date is set to a fixed
    one and the profile ID (MD5, ICC.1 7.2.18) recomputed when the profile has one.
    """
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
    if any(icc[84:100]):
        hashed = bytearray(icc)
        hashed[44:48] = hashed[64:68] = bytes(4)
        hashed[84:100] = bytes(16)
        icc[84:100] = hashlib.md5(hashed, usedforsecurity=False).digest()
    return bytes(icc)


def _add_output_intent(writer: PdfWriter) -> None:
    """Declare sRGB as the PDF/A output intent, with the ICC profile embedded."""
    icc = srgb_profile()
    profile = StreamObject()
    profile[NameObject("/N")] = NumberObject(3)
    profile.set_data(icc)
    profile = profile.flate_encode()
    intent = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/OutputIntent"),
            NameObject("/S"): NameObject("/GTS_PDFA1"),
            NameObject("/OutputConditionIdentifier"): TextStringObject(SRGB_CONDITION),
            NameObject("/Info"): TextStringObject(SRGB_CONDITION),
            NameObject("/RegistryName"): TextStringObject("http://www.color.org"),
            NameObject("/DestOutputProfile"): writer._add_object(profile),
        }
    )
    writer.root_object[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])


def _write_atomically(writer: PdfWriter, out: Path) -> None:
    """Write the PDF to a temporary file beside ``out``, flush it to disk, then rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with temp.open("wb") as handle:
            writer.write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, out)
    except OSError as exc:
        raise AssembleError(
            "Không ghi được tệp PDF kết quả", disposition="retry", detail=exc.strerror or ""
        ) from None
    finally:
        temp.unlink(missing_ok=True)
