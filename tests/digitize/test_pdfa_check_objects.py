"""The PDF/A-2b check on objects: each check fires on a copy of our output with one part broken."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from core.pdfa.check import check_pdfa
from tests.support.pdfs import clauses as _clauses
from tests.support.pdfs import rewritten as _rewritten


def _page(writer: PdfWriter) -> Any:
    return writer.pages[0]


def _root(writer: PdfWriter) -> Any:
    return writer.root_object


def _javascript(writer: PdfWriter) -> None:
    script = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("1;")}
    )
    tree = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("x"), writer._add_object(script)])}
    )
    _root(writer)[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})


def _attach(writer: PdfWriter) -> None:
    writer.add_attachment("a.txt", b"x")


def _add_font(writer: PdfWriter) -> None:
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    resources = _page(writer)["/Resources"]
    resources[NameObject("/Font")] = DictionaryObject({NameObject("/F9"): font})


def _set_open_action(kind: str) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        action = DictionaryObject({NameObject("/S"): NameObject(kind)})
        action[NameObject("/F")] = TextStringObject("calc.exe")
        _root(writer)[NameObject("/OpenAction")] = writer._add_object(action)

    return change


def _catalog_aa(writer: PdfWriter) -> None:
    goto = DictionaryObject({NameObject("/S"): NameObject("/GoTo")})
    _root(writer)[NameObject("/AA")] = DictionaryObject({NameObject("/WC"): goto})


def _annotation(subtype: str, flags: int | None, appearance: bool) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        annotation = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject(subtype),
                NameObject("/Rect"): ArrayObject(FloatObject(v) for v in (10, 10, 60, 60)),
            }
        )
        if flags is not None:
            annotation[NameObject("/F")] = NumberObject(flags)
        if appearance:
            stream = StreamObject()
            stream.update({NameObject("/Type"): NameObject("/XObject")})
            stream[NameObject("/Subtype")] = NameObject("/Form")
            stream[NameObject("/BBox")] = ArrayObject(FloatObject(v) for v in (0, 0, 50, 50))
            stream.set_data(b"")
            annotation[NameObject("/AP")] = DictionaryObject(
                {NameObject("/N"): writer._add_object(stream)}
            )
        _page(writer)[NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])

    return change


def _acroform(key: str, value: object) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        form = DictionaryObject({NameObject("/Fields"): ArrayObject()})
        form[NameObject(key)] = value
        _root(writer)[NameObject("/AcroForm")] = form

    return change


def _ext_gstate(key: str, value: object) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        state = DictionaryObject({NameObject(key): value})
        resources = _page(writer)["/Resources"]
        resources[NameObject("/ExtGState")] = DictionaryObject({NameObject("/GS9"): state})

    return change


def _image(**entries: object) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        image = StreamObject()
        image.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Image"),
                NameObject("/Width"): NumberObject(1),
                NameObject("/Height"): NumberObject(1),
                NameObject("/BitsPerComponent"): NumberObject(8),
                NameObject("/ColorSpace"): NameObject("/DeviceGray"),
            }
        )
        for key, value in entries.items():
            image[NameObject(f"/{key}")] = value
        image.set_data(b"\x00\x00\x00\x00")
        resources = _page(writer)["/Resources"]
        resources["/XObject"][NameObject("/Im9")] = writer._add_object(image)

    return change


def _page_group(space: str) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        _page(writer)[NameObject("/Group")] = DictionaryObject(
            {
                NameObject("/S"): NameObject("/Transparency"),
                NameObject("/CS"): NameObject(space),
            }
        )

    return change


def _output_intent(
    change_profile: Callable[[StreamObject], StreamObject | None],
) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        [intent] = _root(writer)["/OutputIntents"]
        intent = intent.get_object()
        profile = change_profile(intent["/DestOutputProfile"].get_object())
        if profile is None:
            del _root(writer)["/OutputIntents"]
        else:
            intent[NameObject("/DestOutputProfile")] = writer._add_object(profile)

    return change


def _wrong_n(profile: StreamObject) -> StreamObject:
    copy = StreamObject()
    copy[NameObject("/N")] = NumberObject(1)
    copy.set_data(profile.get_data())
    return copy


def _not_icc(profile: StreamObject) -> StreamObject:
    copy = StreamObject()
    copy[NameObject("/N")] = NumberObject(3)
    copy.set_data(b"this is not an ICC profile" * 8)
    return copy


def _two_profiles(writer: PdfWriter) -> None:
    [intent] = _root(writer)["/OutputIntents"]
    second = DictionaryObject(intent.get_object())
    second[NameObject("/S")] = NameObject("/GTS_PDFX")
    second[NameObject("/DestOutputProfile")] = writer._add_object(
        _wrong_n(intent.get_object()["/DestOutputProfile"].get_object())
    )
    _root(writer)["/OutputIntents"].append(writer._add_object(second))


def _lzw_stream(writer: PdfWriter) -> None:
    page = _page(writer)
    stream = page["/Contents"].get_object()
    stream[NameObject("/Filter")] = ArrayObject([NameObject("/LZWDecode"), stream["/Filter"]])


def _external_stream(writer: PdfWriter) -> None:
    stream = _page(writer)["/Contents"].get_object()
    stream[NameObject("/F")] = TextStringObject("elsewhere.bin")


def _replace_xmp(
    edit: Callable[[str], str], *, compress: bool = False
) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        old = _root(writer)["/Metadata"].get_object()
        new = StreamObject()
        new[NameObject("/Type")] = NameObject("/Metadata")
        new[NameObject("/Subtype")] = NameObject("/XML")
        new.set_data(edit(old.get_data().decode("utf-8")).encode("utf-8"))
        _root(writer)[NameObject("/Metadata")] = writer._add_object(
            new.flate_encode() if compress else new
        )

    return change


def _set_info(key: str, value: str) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        writer.add_metadata({key: value})

    return change


def _drop(key: str) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        del _root(writer)[key]

    return change


_NEW_NAMESPACE = (
    '  <rdf:Description rdf:about="" xmlns:extra="https://example.vn/ns/extra/">\n'
    "   <extra:note>ghi chú</extra:note>\n  </rdf:Description>\n </rdf:RDF>"
)

BROKEN: dict[str, tuple[Callable[[PdfWriter], None], str]] = {
    "font not embedded": (_add_font, "ISO 19005-2 6.2.11.4.1"),
    "JavaScript name tree": (_javascript, "ISO 19005-2 6.5.1"),
    "Launch open action": (_set_open_action("/Launch"), "ISO 19005-2 6.5.1"),
    "JavaScript open action": (_set_open_action("/JavaScript"), "ISO 19005-2 6.5.1"),
    "catalog additional actions": (_catalog_aa, "ISO 19005-2 6.5.2"),
    "embedded file": (_attach, "ISO 19005-2 6.8"),
    "forbidden annotation type": (_annotation("/Movie", 4, True), "ISO 19005-2 6.3.1"),
    "annotation without flags": (_annotation("/Square", None, True), "ISO 19005-2 6.3.2"),
    "hidden annotation": (_annotation("/Square", 4 | 2, True), "ISO 19005-2 6.3.2"),
    "annotation without appearance": (_annotation("/Square", 4, False), "ISO 19005-2 6.3.3"),
    "NeedAppearances": (_acroform("/NeedAppearances", BooleanObject(True)), "ISO 19005-2 6.4.1"),
    "XFA form": (_acroform("/XFA", ArrayObject()), "ISO 19005-2 6.4.2"),
    "transfer function": (_ext_gstate("/TR", NameObject("/Identity")), "ISO 19005-2 6.2.5"),
    "unknown blend mode": (_ext_gstate("/BM", NameObject("/Dissolve")), "ISO 19005-2 6.2.10"),
    "interpolated image": (_image(Interpolate=BooleanObject(True)), "ISO 19005-2 6.2.8.1"),
    "CMYK image, RGB intent": (
        _image(ColorSpace=NameObject("/DeviceCMYK")),
        "ISO 19005-2 6.2.4.3",
    ),
    "CMYK transparency group": (_page_group("/DeviceCMYK"), "ISO 19005-2 6.2.4.3"),
    "no output intent": (_output_intent(lambda p: None), "ISO 19005-2 6.2.4.3"),
    "profile /N wrong": (_output_intent(_wrong_n), "ISO 19005-2 6.2.3"),
    "profile not ICC": (_output_intent(_not_icc), "ISO 19005-2 6.2.3"),
    "two output profiles": (_two_profiles, "ISO 19005-2 6.2.3"),
    "LZW stream": (_lzw_stream, "ISO 19005-2 6.1.7.2"),
    "external stream": (_external_stream, "ISO 19005-2 6.1.7.1"),
    "no XMP": (_drop("/Metadata"), "ISO 19005-2 6.6.2.1"),
    "compressed XMP": (_replace_xmp(lambda x: x, compress=True), "motcua"),
    "XMP header encoding": (
        _replace_xmp(lambda x: x.replace('id="W5M0', 'encoding="UTF-8" id="W5M0')),
        "ISO 19005-2 6.6.2.1",
    ),
    "XMP not XML": (_replace_xmp(lambda x: x.replace("</x:xmpmeta>", "")), "ISO 19005-2 6.6.2.1"),
    "PDF/A part 1": (
        _replace_xmp(lambda x: x.replace("<pdfaid:part>2<", "<pdfaid:part>1<")),
        "ISO 19005-2 6.6.4",
    ),
    "conformance A": (
        _replace_xmp(lambda x: x.replace("conformance>B<", "conformance>A<")),
        "ISO 19005-2 6.6.4",
    ),
    "namespace without schema": (
        _replace_xmp(lambda x: x.replace(" </rdf:RDF>", _NEW_NAMESPACE)),
        "ISO 19005-2 6.6.2.3.1",
    ),
    "property not in schema": (
        _replace_xmp(
            lambda x: x.replace("<motcua:code>", "<motcua:secret>x</motcua:secret><motcua:code>")
        ),
        "ISO 19005-2 6.6.2.3.1",
    ),
    "schema property without category": (
        _replace_xmp(
            lambda x: x.replace("<pdfaProperty:category>external</pdfaProperty:category>", "", 1)
        ),
        "ISO 19005-2 6.6.2.3.3",
    ),
    "Info title differs": (_set_info("/Title", "Hồ sơ khác"), "ISO 19005-1 6.7.3"),
    "Info author differs": (_set_info("/Author", "UBND xã Khác"), "ISO 19005-1 6.7.3"),
    "Info date differs": (_set_info("/ModDate", "D:20200101000000+07'00'"), "ISO 19005-1 6.7.3"),
    "Info producer differs": (_set_info("/Producer", "khác"), "ISO 19005-1 6.7.3"),
    "XMP lacks Info keywords": (
        _replace_xmp(
            lambda x: x.replace("<pdf:Keywords>", "<pdf:Trapped>").replace(
                "</pdf:Keywords>", "</pdf:Trapped>"
            )
        ),
        "ISO 19005-1 6.7.3",
    ),
    "Info text not NFC": (
        _set_info("/Subject", unicodedata.normalize("NFD", "Đăng ký khai sinh")),
        "motcua",
    ),
    "XMP text not NFC": (
        _replace_xmp(
            lambda x: x.replace(
                "Trần Thị Bích Ngọc", unicodedata.normalize("NFD", "Trần Thị Bích Ngọc")
            )
        ),
        "motcua",
    ),
}
"""Ways to break a copy of our output, and the clause that must then be reported."""


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_check_fires(ours: bytes, case: str) -> None:
    """Each kind of damage is reported under its clause."""
    change, clause = BROKEN[case]
    violations = check_pdfa(_rewritten(ours, change))
    assert clause in _clauses(violations), [str(v) for v in violations]


def test_named_actions_other_than_paging_are_refused(ours: bytes) -> None:
    """A named action other than first/last/next/previous page breaks 6.5.1; paging ones pass."""

    def named(name: str) -> Callable[[PdfWriter], None]:
        def change(writer: PdfWriter) -> None:
            action = DictionaryObject(
                {NameObject("/S"): NameObject("/Named"), NameObject("/N"): NameObject(name)}
            )
            _root(writer)[NameObject("/OpenAction")] = action

        return change

    assert check_pdfa(_rewritten(ours, named("/NextPage"))) == []
    assert "ISO 19005-2 6.5.1" in _clauses(check_pdfa(_rewritten(ours, named("/Print"))))


def test_attribute_form_xmp_is_understood(ours: bytes) -> None:
    """XMP written with properties as attributes (as pyHanko rewrites it) still passes."""

    def as_attributes(xmp: str) -> str:
        declaration = 'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"'
        elements = "<pdfaid:part>2</pdfaid:part>\n   <pdfaid:conformance>B</pdfaid:conformance>\n"
        assert elements in xmp
        return xmp.replace(elements, "").replace(
            f"{declaration}>", f'{declaration} pdfaid:part="2" pdfaid:conformance="B">'
        )

    rewritten = _rewritten(ours, _replace_xmp(as_attributes))
    assert b'pdfaid:part="2"' in rewritten
    assert check_pdfa(rewritten) == []
