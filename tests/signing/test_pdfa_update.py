"""The PDF/A check after signing reads only the signature's revision, and still refuses faults."""

from __future__ import annotations

import dataclasses
import io
import pickle
from pathlib import Path
from typing import cast

import pytest
from pyhanko.sign.signers import SimpleSigner
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
)

from core.pdfa.check import check_pdfa
from core.pdfa.update import inspect_update
from signing.errors import SigningError
from signing.pades.options import SignOptions, UpdateCheck
from signing.pades.sign import sign_pdf
from signing.stamp import shaping
from signing.stamp.font import PreparedFont, prepared_font_for
from signing.stamp.text import StampText
from tests.support.pki import TEST_OFFICE, TEST_SIGNED_AT, TEST_SIGNER

FONT_NOT_EMBEDDED = "ISO 19005-2 6.2.11.4.1"


def _stamp() -> StampText:
    return StampText(TEST_SIGNER, TEST_OFFICE, signed_at=TEST_SIGNED_AT)


def _base_objects(pdf: bytes) -> dict[str, set[int]]:
    """Numbers of the input's own objects: all of them, and those the checks may look into
    (the catalog, the OutputIntent and its profile, which new colour is checked against)."""
    reader = PdfReader(io.BytesIO(pdf))
    root = cast(IndirectObject, reader.trailer.raw_get("/Root"))
    catalog = cast(DictionaryObject, root.get_object())
    looked_into = {root.idnum}
    for ref in cast(ArrayObject, catalog.raw_get("/OutputIntents")):
        intent = cast(DictionaryObject, ref.get_object())
        looked_into |= {ref.idnum, cast(IndirectObject, intent.raw_get("/DestOutputProfile")).idnum}
    return {"all": set(reader.xref[0]) - {0}, "looked_into": looked_into}


def test_the_check_after_signing_reads_only_the_signatures_revision(
    digitized: bytes, signer: SimpleSigner
) -> None:
    """The input's page, scan, text layer, fonts and metadata are not read again: only the
    revision's own objects and the OutputIntent are."""
    signed = sign_pdf(digitized, signer, SignOptions(stamp=_stamp()))
    report = inspect_update(digitized, signed)
    base = _base_objects(digitized)

    assert report.violations == () and not report.whole
    assert report.update_objects  # the field, its widget, the appearance, its font …
    assert report.examined - report.update_objects <= base["looked_into"]
    unchanged = base["all"] - report.update_objects
    assert len(unchanged & report.examined) <= 3 < len(unchanged)
    # every object of the revision is read but the signature dictionary (left unparsed)
    assert len(report.update_objects - report.examined) == 1


def _without_program(font: PreparedFont) -> PreparedFont:
    """The prepared font with its descriptor no longer pointing at the embedded program."""
    descriptor = font.descriptor.replace(b"/FontFile2", b"/NotTheProgram")
    return dataclasses.replace(font, descriptor=descriptor)


def test_a_revision_with_a_font_not_embedded_is_refused(
    digitized: bytes, signer: SimpleSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stamp whose font is not embedded fails the check of the revision: not signed."""

    def broken(font_path: Path, text: str) -> PreparedFont | None:
        font = prepared_font_for(font_path, text)
        return None if font is None else _without_program(font)

    monkeypatch.setattr(shaping, "prepared_font_for", broken)

    with pytest.raises(SigningError) as caught:
        sign_pdf(digitized, signer, SignOptions(stamp=_stamp(), output_check=check_pdfa))
    assert caught.value.disposition == "fail"
    assert "PDF/A" in caught.value.message_vi and FONT_NOT_EMBEDDED in caught.value.message_vi

    unchecked = sign_pdf(digitized, signer, SignOptions(stamp=_stamp()))
    report = inspect_update(digitized, unchecked)
    assert [v.clause for v in report.violations] == [FONT_NOT_EMBEDDED]
    assert {str(v) for v in report.violations} <= {str(v) for v in check_pdfa(unchecked)}
    assert report.examined - report.update_objects <= _base_objects(digitized)["looked_into"]


def _annotated(pdf: bytes) -> bytes:
    """``pdf`` with an incremental update adding a square annotation whose appearance is a
    CMYK transparency group drawn with a transfer function: two PDF/A-2 faults, nested."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    appearance = DecodedStreamObject()
    appearance.set_data(b"/GS0 gs 0 0 10 10 re f")
    appearance.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([NumberObject(0)] * 2 + [NumberObject(10)] * 2),
            NameObject("/Group"): DictionaryObject(
                {
                    NameObject("/S"): NameObject("/Transparency"),
                    NameObject("/CS"): NameObject("/DeviceCMYK"),
                }
            ),
            NameObject("/Resources"): DictionaryObject(
                {
                    NameObject("/ExtGState"): DictionaryObject(
                        {
                            NameObject("/GS0"): writer._add_object(
                                DictionaryObject({NameObject("/TR"): NameObject("/Identity")})
                            )
                        }
                    )
                }
            ),
        }
    )
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Square"),
            NameObject("/F"): NumberObject(4),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 20, 20)]),
            NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(appearance)}),
        }
    )
    writer.pages[0].annotations = ArrayObject([writer._add_object(annotation)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_faults_nested_in_an_update_are_found_where_the_whole_file_check_finds_them(
    digitized: bytes,
) -> None:
    """A transparency group in CMYK under an RGB OutputIntent, and a transfer function in a
    graphics state of the new appearance's resources, found without reading the scan."""
    updated = _annotated(digitized)
    assert updated.startswith(digitized)
    report = inspect_update(digitized, updated)

    found = {str(v) for v in report.violations}
    assert {v.clause for v in report.violations} == {"ISO 19005-2 6.2.4.3", "ISO 19005-2 6.2.5"}
    assert found == {str(v) for v in check_pdfa(updated)}
    assert report.examined - report.update_objects <= _base_objects(digitized)["looked_into"]


def test_a_file_that_is_not_an_update_of_the_input_is_checked_whole(digitized: bytes) -> None:
    """Bytes that do not start with the input are checked as a whole file."""
    report = inspect_update(digitized, digitized[:-200] + b"%%EOF\n")
    assert report.whole and report.violations


def test_the_pdfa_check_is_an_update_check_that_crosses_to_workers() -> None:
    """check_pdfa offers the revision-only check, and pickles as itself."""
    assert isinstance(check_pdfa, UpdateCheck)
    assert pickle.loads(pickle.dumps(check_pdfa)) is check_pdfa
