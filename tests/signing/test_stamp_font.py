"""Tests of the stamp's embedded font: widths, program, ToUnicode, one subset per process."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from fontTools import ttLib  # type: ignore[import-untyped]
from PIL import Image
from pyhanko.sign.signers import SimpleSigner

from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.stamp.font import STAMP_REPERTOIRE, VIETNAMESE_LETTERS, prepared_font_for
from signing.stamp.place import placement_in_pdf
from signing.stamp.text import DEFAULT_FONT, LAYOUTS, Layout, StampText, stamp_lines
from signing.verify.check import verify_pdf
from tests.support.pki import TEST_OFFICE, TEST_SIGNED_AT, TEST_SIGNER, read_stamps

VERIFY_URL = "https://motcua.example.vn/kiem-tra/"


def signed_with(pdf: bytes, signer: SimpleSigner, **changes: object) -> bytes:
    values: dict[str, object] = {
        "signer_name": TEST_SIGNER,
        "office_name": TEST_OFFICE,
        "signed_at": TEST_SIGNED_AT,
    }
    values.update(changes)
    stamp = StampText(**values)  # type: ignore[arg-type]
    page, box = placement_in_pdf(stamp, pdf)
    return sign_pdf(pdf, signer, SignOptions(stamp=stamp, page=page, box=box))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_widths_match_the_embedded_program_and_the_original_font(
    layout: Layout, unsigned_pdf: bytes, signer: SimpleSigner, tmp_path: Path
) -> None:
    """/W is the embedded program's advances in 1000ths of an em, which are the font's own."""
    image = tmp_path / "chu-ky.png"
    Image.new("RGBA", (300, 100), (0, 0, 120, 255)).save(image)
    signed = signed_with(
        unsigned_pdf, signer, layout=layout, verify_url=VERIFY_URL, signature_image=image
    )
    (found,) = read_stamps(signed)

    assert found.cid_to_gid == "/Identity"
    assert found.program_length == len(found.program)
    assert found.shown and set(found.shown) <= set(found.widths)
    with (
        ttLib.TTFont(io.BytesIO(found.program)) as program,
        ttLib.TTFont(DEFAULT_FONT) as original,
    ):
        order = program.getGlyphOrder()
        per_em = program["head"].unitsPerEm
        assert per_em == original["head"].unitsPerEm != 1000  # the case that needs scaling
        assert len(found.widths) == len(order)
        for cid, width in found.widths.items():
            assert width == pytest.approx(program["hmtx"][order[cid]][0] * 1000 / per_em, abs=1)
        # the glyph shown for each character is the font's glyph for it, same advance
        stamp = StampText(TEST_SIGNER, TEST_OFFICE, layout=layout)
        text = "".join(stamp_lines(stamp, TEST_SIGNED_AT))
        ours, theirs = program.getBestCmap(), original.getBestCmap()
        for char in set(text):
            assert order.index(ours[ord(char)]) in found.shown, char
            assert program["hmtx"][ours[ord(char)]][0] == original["hmtx"][theirs[ord(char)]][0]


def test_every_vietnamese_letter_reads_back_from_the_stamp(
    unsigned_pdf: bytes, signer: SimpleSigner, trust: list[Path]
) -> None:
    """All 134 toned letters and đ/Đ are drawn from the subset and extract through ToUnicode."""
    letters = "".join(c for c in VIETNAMESE_LETTERS if not c.isascii())
    assert len(letters) == 134
    name = f"{letters[:45]} {letters[45:90]} {letters[90:]}"
    signed = signed_with(unsigned_pdf, signer, signer_name=name, office_name="Điện Biên Đông")

    assert verify_pdf(signed, trust).ok
    (view,) = read_stamps(signed)
    assert view.text.split("\n")[:2] == [f"Ký bởi: {name}", "Cơ quan: Điện Biên Đông"]
    assert 0 not in view.shown  # no .notdef


def test_one_subset_serves_every_stamp_of_a_process(
    unsigned_pdf: bytes, signer: SimpleSigner
) -> None:
    """Stamps with other names, offices and times embed the same font program, made once."""
    (first,) = read_stamps(signed_with(unsigned_pdf, signer))
    later = dt.datetime(2027, 1, 31, 23, 59, 58, tzinfo=dt.UTC)
    (second,) = read_stamps(
        signed_with(
            unsigned_pdf,
            signer,
            signer_name="Trần Thị Bích Ngọc",
            office_name="UBND phường Hàng Trống",
            signed_at=later,
            layout="certified_copy",
        )
    )
    assert first.program == second.program
    assert first.base_font == second.base_font
    tag, name = first.base_font.lstrip("/").split("+")
    assert len(tag) == 6 and tag.isupper() and name == "LiberationSerif-Identity-H"
    assert prepared_font_for(DEFAULT_FONT, "Trần Thị Bích Ngọc") is prepared_font_for(
        DEFAULT_FONT, STAMP_REPERTOIRE
    )


def test_text_the_subset_cannot_draw_is_shaped_by_harfbuzz(
    unsigned_pdf: bytes, signer: SimpleSigner, trust: list[Path]
) -> None:
    """A Cyrillic name is left to HarfBuzz with the full font; it still signs and reads back."""
    name = "Иван Петров"
    assert prepared_font_for(DEFAULT_FONT, name) is None
    signed = signed_with(unsigned_pdf, signer, signer_name=name)

    assert verify_pdf(signed, trust).ok
    (view,) = read_stamps(signed)
    assert view.text.split("\n")[0] == f"Ký bởi: {name}"
    assert view.font_subtype == "/CIDFontType2" and view.font_embedded
