"""PDF/A-2b checks of a PDF's metadata: the XMP packet, its schemas and the Info dictionary."""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

from pypdf.generic import DictionaryObject, IndirectObject, StreamObject

__all__ = ["HOUSE", "PDFA1", "PDFA2", "Problem", "metadata_problems"]

PDFA2 = "ISO 19005-2"
"""Prefix of the clauses of ISO 19005-2:2011 (PDF/A-2)."""

PDFA1 = "ISO 19005-1"
"""Prefix of ISO 19005-1 clauses: Info and XMP agreement is spelled out in its 6.7.3;
PDF/A-2 leaves the Info dictionary to good practice, which we keep."""

HOUSE = "motcua"
"""Clause of rules of our own on top of PDF/A-2b (plain XMP stream, NFC text)."""

Problem = tuple[str, str]
"""A failed check: (clause, message)."""

_PREDEFINED_NAMESPACES = frozenset(
    {
        "http://purl.org/dc/elements/1.1/",
        "http://ns.adobe.com/xap/1.0/",
        "http://ns.adobe.com/xap/1.0/rights/",
        "http://ns.adobe.com/xap/1.0/mm/",
        "http://ns.adobe.com/xap/1.0/bj/",
        "http://ns.adobe.com/xap/1.0/t/pg/",
        "http://ns.adobe.com/xmp/1.0/DynamicMedia/",
        "http://ns.adobe.com/pdf/1.3/",
        "http://ns.adobe.com/photoshop/1.0/",
        "http://ns.adobe.com/camera-raw-settings/1.0/",
        "http://ns.adobe.com/exif/1.0/",
        "http://ns.adobe.com/exif/1.0/aux/",
        "http://ns.adobe.com/tiff/1.0/",
        "http://www.aiim.org/pdfa/ns/id/",
        "http://www.aiim.org/pdfa/ns/extension/",
    }
)
"""XMP namespaces whose properties need no extension schema (XMP 2005 schemas and PDF/A's)."""

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML = "http://www.w3.org/XML/1998/namespace"
_PDFAID = "http://www.aiim.org/pdfa/ns/id/"
_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"
_PROPERTY = "http://www.aiim.org/pdfa/ns/property#"
_DC = "http://purl.org/dc/elements/1.1/"
_XMP = "http://ns.adobe.com/xap/1.0/"
_PDF = "http://ns.adobe.com/pdf/1.3/"

_INFO_TO_XMP = {
    "/Title": (_DC, "title"),
    "/Author": (_DC, "creator"),
    "/Subject": (_DC, "description"),
    "/Keywords": (_PDF, "Keywords"),
    "/Creator": (_XMP, "CreatorTool"),
    "/Producer": (_PDF, "Producer"),
    "/CreationDate": (_XMP, "CreateDate"),
    "/ModDate": (_XMP, "ModifyDate"),
}
"""Info entries and the XMP property that must say the same."""

_PACKET_HEADER = re.compile(rb"<\?xpacket\s+begin=[^>]*\?>")
_PDF_DATE = re.compile(
    r"(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?"
    r"(?:([+\-Z])(?:(\d{2})'?(?:(\d{2})'?)?)?)?"
)

Properties = dict[tuple[str, str], list[ET.Element | str]]
"""Top-level XMP properties by (namespace, name): elements, or strings written as attributes."""


def metadata_problems(catalog: DictionaryObject, info: DictionaryObject | None) -> list[Problem]:
    """Check the catalog's XMP stream, and the Info dictionary against it.

    The stream must be typed /Metadata /XML, plain (no /Filter, our rule), with no
    ``bytes`` or ``encoding`` in its packet header, well-formed XML without a DTD;
    it must identify PDF/A-2 conformance B and describe every property outside the
    predefined schemas in a valid extension schema. Info entries must equal their
    XMP counterparts (dates as the same second) and all text must be NFC.
    """
    problems: list[Problem] = []
    stream = _resolve(catalog.get("/Metadata"))
    if not isinstance(stream, StreamObject):
        return [(f"{PDFA2} 6.6.2.1", "the catalog has no XMP metadata stream")]
    if stream.get("/Type") != "/Metadata" or stream.get("/Subtype") != "/XML":
        problems.append((f"{PDFA2} 6.6.2.1", "the metadata stream is not typed /Metadata /XML"))
    if "/Filter" in stream:
        problems.append((HOUSE, "the XMP stream is compressed (/Filter); it must stay plain"))
    packet = stream.get_data()
    header = _PACKET_HEADER.search(packet)
    if header and re.search(rb"\s(bytes|encoding)\s*=", header.group()):
        problems.append(
            (f"{PDFA2} 6.6.2.1", "the XMP packet header has a bytes or encoding attribute")
        )
    if b"<!DOCTYPE" in packet or b"<!ENTITY" in packet:
        problems.append((f"{PDFA2} 6.6.2.1", "the XMP packet has a DTD, which XMP forbids"))
        return problems
    try:
        # No DTD (refused above), so no entity expansion: the standard parser is safe here.
        root = ET.fromstring(packet)  # noqa: S314
    except ET.ParseError as exc:
        problems.append((f"{PDFA2} 6.6.2.1", f"the XMP packet is not well-formed XML ({exc})"))
        return problems
    properties = _xmp_properties(root)
    problems += _identification(properties)
    problems += _extension_schemas(root, properties)
    problems += _not_nfc(root, info)
    if info is not None:
        problems += _info_disagreements(info, properties)
    return problems


def _identification(properties: Properties) -> list[Problem]:
    """The PDF/A identification schema must say part 2, conformance B."""
    part = _text(properties.get((_PDFAID, "part")))
    conformance = _text(properties.get((_PDFAID, "conformance")))
    problems = []
    if part != "2":
        problems.append((f"{PDFA2} 6.6.4", f"pdfaid:part is {part!r}, not '2'"))
    if conformance != "B":
        problems.append((f"{PDFA2} 6.6.4", f"pdfaid:conformance is {conformance!r}, not 'B'"))
    return problems


def _extension_schemas(root: ET.Element, properties: Properties) -> list[Problem]:
    """Custom namespaces must be described, with each property used, by complete records."""
    problems: list[Problem] = []
    described: dict[str, set[str]] = {}
    for record in root.iter():
        uri = _field(record, _SCHEMA, "namespaceURI")
        if uri is None:
            continue
        names = {_field(e, _PROPERTY, "name") for e in record.iter()} - {None}
        described.setdefault(uri, set()).update(n for n in names if n)
        missing = [f for f in ("schema", "prefix") if not _field(record, _SCHEMA, f)]
        if missing:
            problems.append(
                (
                    f"{PDFA2} 6.6.2.3.3",
                    f"the extension schema of {uri} lacks pdfaSchema:{', '.join(missing)}",
                )
            )
    for record in root.iter():
        name = _field(record, _PROPERTY, "name")
        if name is None:
            continue
        category = _field(record, _PROPERTY, "category")
        if not _field(record, _PROPERTY, "valueType") or category not in ("internal", "external"):
            problems.append(
                (
                    f"{PDFA2} 6.6.2.3.3",
                    f"the extension property {name!r} lacks a value type or category",
                )
            )
    for namespace, local in properties:
        if namespace in _PREDEFINED_NAMESPACES:
            continue
        if namespace not in described:
            message = f"XMP namespace {namespace} is used without an extension schema"
        elif local not in described[namespace]:
            message = f"XMP property {local} of {namespace} is not in its extension schema"
        else:
            continue
        if (f"{PDFA2} 6.6.2.3.1", message) not in problems:
            problems.append((f"{PDFA2} 6.6.2.3.1", message))
    return problems


def _info_disagreements(info: DictionaryObject, properties: Properties) -> list[Problem]:
    """Info entries that are missing from the XMP packet or say something else there."""
    clause = f"{PDFA1} 6.7.3"
    problems: list[Problem] = []
    for key, (namespace, local) in _INFO_TO_XMP.items():
        value = _resolve(info.get(key))
        if value is None:
            continue
        found = properties.get((namespace, local))
        if not found:
            problems.append((clause, f"Info {key} has no XMP counterpart ({local})"))
        elif key in ("/CreationDate", "/ModDate"):
            if not _same_moment(str(value), _text(found)):
                problems.append((clause, f"Info {key} {value} is not XMP {local} {_text(found)}"))
        elif key == "/Author":
            if _items(found) != [str(value)]:
                problems.append((clause, "Info /Author differs from XMP dc:creator"))
        elif _text(found) != str(value):
            problems.append((clause, f"Info {key} differs from XMP {local}"))
    return problems


def _not_nfc(root: ET.Element, info: DictionaryObject | None) -> list[Problem]:
    """Text of the XMP packet or the Info dictionary that is not in Unicode NFC."""
    problems: list[Problem] = []
    texts = [t for e in root.iter() for t in (e.text, e.tail, *e.attrib.values()) if t]
    if not all(unicodedata.is_normalized("NFC", t) for t in texts):
        problems.append((HOUSE, "text in the XMP packet is not in Unicode NFC"))
    for key, value in (info or {}).items():
        resolved = _resolve(value)
        if isinstance(resolved, str) and not unicodedata.is_normalized("NFC", resolved):
            problems.append((HOUSE, f"Info {key} is not in Unicode NFC"))
    return problems


def _resolve(value: object) -> object:
    """A pypdf value with indirect references followed."""
    while isinstance(value, IndirectObject):
        value = value.get_object()
    return value


def _field(record: ET.Element, namespace: str, local: str) -> str | None:
    """A field of an XMP structure: a child element's text or resource, or an attribute."""
    tag = f"{{{namespace}}}{local}"
    child = record.find(tag)
    if child is not None:
        return (child.text or child.get(f"{{{_RDF}}}resource") or "").strip()
    value = record.get(tag)
    return value.strip() if value is not None else None


def _xmp_properties(root: ET.Element) -> Properties:
    """The properties of the top-level rdf:Description elements, by namespace and name."""
    found: Properties = {}
    tops = [root] if root.tag == f"{{{_RDF}}}RDF" else list(root.iter(f"{{{_RDF}}}RDF"))
    for description in (d for rdf in tops for d in rdf if d.tag == f"{{{_RDF}}}Description"):
        for name, value in description.attrib.items():
            namespace, local = _split(name)
            if namespace not in ("", _RDF, _XML):
                found.setdefault((namespace, local), []).append(value)
        for child in description:
            found.setdefault(_split(child.tag), []).append(child)
    return found


def _split(tag: str) -> tuple[str, str]:
    """An ElementTree "{namespace}local" name as (namespace, local)."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _items(values: list[ET.Element | str] | None) -> list[str]:
    """The values of an XMP property: the items of an array (x-default first), or its value."""
    items: list[str] = []
    for value in values or []:
        if isinstance(value, str):
            items.append(value)
            continue
        entries = list(value.iter(f"{{{_RDF}}}li"))
        if not entries:
            items.append((value.text or value.get(f"{{{_RDF}}}resource") or "").strip())
            continue
        default = [e for e in entries if e.get(f"{{{_XML}}}lang") == "x-default"]
        items.extend((e.text or "").strip() for e in (default or entries))
    return items


def _text(values: list[ET.Element | str] | None) -> str | None:
    """The single value of an XMP property (x-default for a language alternative)."""
    items = _items(values)
    return items[0] if items else None


def _pdf_moment(value: str) -> datetime | None:
    """A PDF date (D:YYYYMMDDHHmmSSOHH'mm') as a datetime, aware when it gives its zone."""
    match = _PDF_DATE.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, sign, tz_hour, tz_minute = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
        )
    except ValueError:
        return None
    if sign == "Z":
        return moment.replace(tzinfo=UTC)
    if sign:
        offset = timedelta(hours=int(tz_hour or 0), minutes=int(tz_minute or 0))
        return moment.replace(tzinfo=timezone(offset if sign == "+" else -offset))
    return moment


def _xmp_moment(value: str) -> datetime | None:
    """An XMP (ISO 8601) date as a datetime to the second, aware when it gives its zone."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text).replace(microsecond=0)
    except ValueError:
        return None


def _same_moment(pdf_date: str, xmp_date: str | None) -> bool:
    """Whether an Info date and an XMP date name the same second."""
    left = _pdf_moment(pdf_date)
    right = _xmp_moment(xmp_date) if xmp_date else None
    if left is None or right is None:
        return False
    if (left.tzinfo is None) != (right.tzinfo is None):
        left, right = left.replace(tzinfo=None), right.replace(tzinfo=None)
    return left == right
