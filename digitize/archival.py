"""PDF/A-2b furniture of an assembled document: Info and XMP metadata, sRGB output intent."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from pypdf import PdfWriter
from pypdf import __version__ as pypdf_version
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from core.pdfa.furnish import srgb_profile

if TYPE_CHECKING:
    from digitize.assemble import DossierMetadata

__all__ = ["CREATOR", "MOTCUA_NS"]

CREATOR = "motcua"
"""The application named as the document's creator (Info /Creator, xmp:CreatorTool)."""

PRODUCER = f"motcua digitize (pypdf {pypdf_version}, Pillow, Tesseract)"
"""The software named as the PDF's producer (Info /Producer, pdf:Producer)."""

MOTCUA_NS = "https://motcua.gov.vn/ns/dossier/1.0/"
"""XMP namespace of the dossier properties (prefix ``motcua``)."""

SRGB_CONDITION = "sRGB IEC61966-2.1"
"""Output condition named by the sRGB OutputIntent."""

_DEFAULT_TITLE = "Tài liệu số hóa"
"""Title of a document assembled without dossier metadata."""

_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")
"""Control characters, which XML (and so XMP) cannot carry, mapped to nothing."""


def nfc(text: str) -> str:
    """Text in Unicode normal form C, without control characters."""
    return unicodedata.normalize("NFC", text).translate(_CONTROL)


def utc(moment: datetime) -> datetime:
    """A datetime in UTC (a naive value is taken as already UTC), to the second."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0)


def _pdf_date(moment: datetime) -> str:
    """A UTC datetime as a PDF date string."""
    return utc(moment).strftime("D:%Y%m%d%H%M%S+00'00'")


def _xmp_date(moment: datetime) -> str:
    """A UTC datetime as an XMP (ISO 8601) date."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def set_metadata(
    writer: PdfWriter, metadata: DossierMetadata | None, now: datetime, document_uuid: uuid.UUID
) -> None:
    """Give the document Info entries and an XMP packet that say the same things."""
    title = nfc(metadata.title or f"Hồ sơ {metadata.code}") if metadata else _DEFAULT_TITLE
    info: dict[str, str] = {"/Title": title}
    if metadata is not None:
        info["/Author"] = nfc(metadata.office)
        info["/Subject"] = nfc(metadata.procedure)
        info["/Keywords"] = nfc(metadata.code)
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
            f"   <dc:creator><rdf:Seq><rdf:li>{escape(nfc(metadata.office))}</rdf:li>"
            "</rdf:Seq></dc:creator>\n"
        )
        dublin_core += _lang_alt("dc:description", nfc(metadata.procedure))
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
        pdf_props += _prop("pdf:Keywords", nfc(metadata.code))
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
            _prop("motcua:code", nfc(metadata.code))
            + _prop("motcua:office", nfc(metadata.office))
            + _prop("motcua:procedure", nfc(metadata.procedure))
            + _prop("motcua:applicant", nfc(metadata.applicant))
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


def add_output_intent(writer: PdfWriter) -> None:
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
