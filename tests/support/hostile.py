"""Hostile PDFs for the verification tests: amplified signatures, bombs, deep nesting."""

from __future__ import annotations

import io
import re
import zlib

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    TextStringObject,
)

__all__ = [
    "decompression_bomb",
    "deeply_nested",
    "many_fields_one_signature",
    "many_signature_fields",
]

_STARTXREF = re.compile(rb"startxref\s+(\d+)")


def many_fields_one_signature(signed: bytes, count: int) -> bytes:
    """``signed`` with ``count`` more signature fields whose value is its one signature.

    The attack of the issue: pyHanko validates the same signature (with its whole
    difference analysis) once per field.
    """
    writer = PdfWriter(io.BytesIO(signed), incremental=True)
    fields = _fields(writer)
    value = fields[0].get_object().raw_get("/V")
    for number in range(count):
        fields.append(writer._add_object(_sig_field(f"Sig{number}", value)))
    return _written(writer)


def many_signature_fields(unsigned: bytes, count: int) -> bytes:
    """``unsigned`` with ``count`` signature fields, each with its own (bogus) signature."""
    reader = PdfReader(io.BytesIO(unsigned))
    size = _size(reader)
    form, first = size, size + 1
    objects: dict[int, bytes] = {}
    refs = []
    for index in range(count):
        field, value = first + 2 * index, first + 2 * index + 1
        refs.append(f"{field} 0 R")
        objects[field] = f"<< /FT /Sig /T (Sig{index}) /V {value} 0 R >>".encode()
        objects[value] = (
            b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
            b"/ByteRange [0 10 20 10] /Contents <00> >>"
        )
    objects[form] = f"<< /Fields [{' '.join(refs)}] >>".encode()
    catalog = _catalog(reader)
    catalog[NameObject("/AcroForm")] = IndirectObject(form, 0, reader)
    return _appended(unsigned, {**objects, _root(reader): _serialised(catalog)})


def decompression_bomb(pdf: bytes, expanded: int = 1 << 30) -> bytes:
    """``pdf`` with an incremental update whose cross-reference stream inflates to
    ``expanded`` bytes (1 GiB by default) from about a thousandth of that."""
    prev = int(_STARTXREF.findall(pdf)[-1])
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer.raw_get("/Root").idnum
    number = _size(reader)
    offset = len(pdf) + 1
    entry = b"\x01" + offset.to_bytes(4, "big") + b"\x00\x00"
    stream = _zeros_deflated(entry, expanded)
    head = (
        f"\n{number} 0 obj\n<< /Type /XRef /Size {number + 1} /W [1 4 2] "
        f"/Index [{number} 1] /Root {root} 0 R /Prev {prev} /Filter /FlateDecode "
        f"/Length {len(stream)} >>\nstream\n"
    ).encode()
    tail = f"\nendstream\nendobj\nstartxref\n{offset}\n%%EOF\n".encode()
    return pdf + head + stream + tail


def deeply_nested(pdf: bytes, depth: int = 100_000) -> bytes:
    """``pdf`` with an incremental update giving its catalog an array nested ``depth`` deep."""
    reader = PdfReader(io.BytesIO(pdf))
    catalog = _serialised(_catalog(reader))
    nested = catalog[:-2] + b" /Nest " + b"[" * depth + b"]" * depth + b" >>"
    return _appended(pdf, {_root(reader): nested})


def _appended(pdf: bytes, objects: dict[int, bytes]) -> bytes:
    """``pdf`` with an incremental update (a classic cross-reference table) of ``objects``."""
    prev = int(_STARTXREF.findall(pdf)[-1])
    reader = PdfReader(io.BytesIO(pdf))
    root = _root(reader)
    size = max(_size(reader), max(objects) + 1)
    out = bytearray(pdf + b"\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    for number in sorted(objects):
        out += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    out += b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\n" % (size, root, prev)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _root(reader: PdfReader) -> int:
    return int(reader.trailer.raw_get("/Root").idnum)


def _size(reader: PdfReader) -> int:
    size = reader.trailer["/Size"]
    assert isinstance(size, int)
    return size


def _catalog(reader: PdfReader) -> DictionaryObject:
    """A copy of the catalog, to be written again with changes."""
    catalog = reader.trailer["/Root"].get_object()
    assert isinstance(catalog, DictionaryObject)
    return DictionaryObject(catalog)


def _serialised(value: DictionaryObject) -> bytes:
    out = io.BytesIO()
    value.write_to_stream(out)
    return out.getvalue()


def _fields(writer: PdfWriter) -> ArrayObject:
    form = writer._root_object["/AcroForm"].get_object()
    assert isinstance(form, DictionaryObject)
    fields = form["/Fields"].get_object()
    assert isinstance(fields, ArrayObject)
    return fields


def _sig_field(name: str, value: PdfObject) -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/FT"): NameObject("/Sig"),
            NameObject("/T"): TextStringObject(name),
            NameObject("/V"): value,
        }
    )


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _zeros_deflated(head: bytes, size: int) -> bytes:
    """A zlib stream of ``head`` then zeros up to ``size`` bytes, built without deflating
    them all: after a full flush each block of zeros compresses to the same bytes."""
    chunk = 1 << 20
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = head + bytes(chunk - len(head))
    out = [raw.compress(first) + raw.flush(zlib.Z_FULL_FLUSH)]
    block = raw.compress(bytes(chunk)) + raw.flush(zlib.Z_FULL_FLUSH)
    blocks = size // chunk - 1
    out.extend([block] * blocks)
    out.append(raw.flush())
    # Adler-32 over zeros: the low sum stays, the high sum grows by it once per byte
    checksum = zlib.adler32(first)
    low, high = checksum & 0xFFFF, checksum >> 16
    high = (high + blocks * chunk * low) % 65521
    return b"\x78\xda" + b"".join(out) + ((high << 16) | low).to_bytes(4, "big")
