"""Make a generated PDF (fonts embedded, device colour) PDF/A-2b: XMP, sRGB intent, /ID."""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

__all__ = ["PdfaInfo", "furnish_pdfa", "srgb_profile"]

_CONDITION = "sRGB IEC61966-2.1"
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


@dataclass(frozen=True)
class PdfaInfo:
    """What the document says about itself, in its Info dictionary and XMP alike."""

    title: str
    author: str = ""
    subject: str = ""
    keywords: str = ""
    created_at: datetime | None = None
    """When it was made (aware); the same value gives the same bytes."""


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).translate(_CONTROL)


def _utc(moment: datetime) -> datetime:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0)


@functools.cache
def srgb_profile() -> bytes:
    """The sRGB ICC profile, the same bytes every time (so outputs are reproducible).

    LittleCMS stamps a new profile with the current time; the date is set to a fixed
    one and the profile ID (MD5, ICC.1 7.2.18) recomputed when the profile has one.
    Used by every PDF/A motcua writes (digitized results, letters).
    """
    from PIL import ImageCms  # loaded when a PDF is made, not when Django starts

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
    if any(icc[84:100]):
        hashed = bytearray(icc)
        hashed[44:48] = hashed[64:68] = bytes(4)
        hashed[84:100] = bytes(16)
        icc[84:100] = hashlib.md5(hashed, usedforsecurity=False).digest()
    return bytes(icc)


def _xmp(info: PdfaInfo, moment: datetime, document_id: str) -> bytes:
    when = moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")

    def alt(name: str, value: str) -> str:
        item = f'<rdf:li xml:lang="x-default">{escape(value)}</rdf:li>'
        return f"<{name}><rdf:Alt>{item}</rdf:Alt></{name}>"

    dc = "<dc:format>application/pdf</dc:format>" + alt("dc:title", _nfc(info.title))
    if info.author:
        author = escape(_nfc(info.author))
        dc += f"<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>"
    if info.subject:
        dc += alt("dc:description", _nfc(info.subject))
    dc += "<dc:language><rdf:Bag><rdf:li>vi</rdf:li></rdf:Bag></dc:language>"
    pdf = "<pdf:Producer>motcua</pdf:Producer>"
    if info.keywords:
        pdf += f"<pdf:Keywords>{escape(_nfc(info.keywords))}</pdf:Keywords>"
    body = (
        '<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">'
        "<pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>\n"
        f'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">{dc}'
        "</rdf:Description>\n"
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        f"<xmp:CreateDate>{when}</xmp:CreateDate><xmp:ModifyDate>{when}</xmp:ModifyDate>"
        f"<xmp:MetadataDate>{when}</xmp:MetadataDate><xmp:CreatorTool>motcua</xmp:CreatorTool>"
        "</rdf:Description>\n"
        f'<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">{pdf}'
        "</rdf:Description>\n"
        '<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">'
        f"<xmpMM:DocumentID>{document_id}</xmpMM:DocumentID>"
        f"<xmpMM:InstanceID>{document_id}</xmpMM:InstanceID></rdf:Description>\n"
    )
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f"{body}</rdf:RDF>\n</x:xmpmeta>\n" + (" " * 99 + "\n") * 10 + '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


def furnish_pdfa(data: bytes, info: PdfaInfo) -> bytes:
    """Return ``data`` rewritten as PDF/A-2b: Info and XMP that agree, the sRGB output
    intent with its ICC profile, ``/Lang vi`` and a trailer ``/ID``.

    The input must already embed its fonts and use no transparency or forbidden
    features (reportlab with TrueType fonts and ``initialFontName`` does so).
    """
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        ByteStringObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        StreamObject,
        TextStringObject,
    )

    moment = _utc(info.created_at or datetime.now(UTC))
    digest = hashlib.sha256(data + repr(info).encode()).digest()
    document_id = f"uuid:{uuid.UUID(bytes=digest[:16])}"
    writer = PdfWriter(clone_from=io.BytesIO(data))
    writer.pdf_header = b"%PDF-1.7"
    pdf_date = moment.strftime("D:%Y%m%d%H%M%S+00'00'")
    entries = {"/Title": _nfc(info.title), "/Creator": "motcua", "/Producer": "motcua"}
    if info.author:
        entries["/Author"] = _nfc(info.author)
    if info.subject:
        entries["/Subject"] = _nfc(info.subject)
    if info.keywords:
        entries["/Keywords"] = _nfc(info.keywords)
    entries |= {"/CreationDate": pdf_date, "/ModDate": pdf_date}
    writer.metadata = {NameObject(k): TextStringObject(v) for k, v in entries.items()}
    xmp = StreamObject()
    xmp[NameObject("/Type")] = NameObject("/Metadata")
    xmp[NameObject("/Subtype")] = NameObject("/XML")
    xmp.set_data(_xmp(info, moment, document_id))
    root = writer.root_object
    root[NameObject("/Metadata")] = writer._add_object(xmp)
    root[NameObject("/Lang")] = TextStringObject("vi")
    profile = StreamObject()
    profile[NameObject("/N")] = NumberObject(3)
    profile.set_data(srgb_profile())
    intent = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/OutputIntent"),
            NameObject("/S"): NameObject("/GTS_PDFA1"),
            NameObject("/OutputConditionIdentifier"): TextStringObject(_CONDITION),
            NameObject("/Info"): TextStringObject(_CONDITION),
            NameObject("/RegistryName"): TextStringObject("http://www.color.org"),
            NameObject("/DestOutputProfile"): writer._add_object(profile.flate_encode()),
        }
    )
    root[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    file_id = ByteStringObject(digest[:16])
    writer._ID = ArrayObject([file_id, file_id])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
