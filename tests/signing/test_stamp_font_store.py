"""The default font's subset shipped made: the same as subsetting here, used only for that font."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from pyhanko.sign.signers import SimpleSigner

from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.stamp.font import STAMP_REPERTOIRE, PreparedFont, make_prepared_font, prepared_font
from signing.stamp.font_store import STORE, load_store, stored_font, write_store
from signing.stamp.text import DEFAULT_FONT, StampText
from signing.verify.check import verify_pdf
from tests.support.pki import TEST_OFFICE, TEST_SIGNED_AT, TEST_SIGNER, read_stamps

OTHER_FONT = DEFAULT_FONT.with_name("LiberationSans-Regular.ttf")


def _fields(font: PreparedFont | None) -> dict[str, object]:
    assert font is not None
    fields = {field.name: getattr(font, field.name) for field in dataclasses.fields(font)}
    fields["glyph_of"] = dict(font.glyph_of)
    return fields


def test_the_shipped_subset_is_the_one_made_from_the_installed_default_font() -> None:
    """Made from this very file (else: ``python -m signing.stamp.font_store``), field for field."""
    record = load_store(STORE)
    assert record is not None
    assert record["font_sha256"] == hashlib.sha256(DEFAULT_FONT.read_bytes()).hexdigest()
    assert record["repertoire"] == STAMP_REPERTOIRE
    shipped = stored_font(DEFAULT_FONT, STAMP_REPERTOIRE)
    assert _fields(shipped) == _fields(make_prepared_font(DEFAULT_FONT, STAMP_REPERTOIRE))
    assert _fields(prepared_font(DEFAULT_FONT)) == _fields(shipped)


def test_another_font_or_repertoire_is_subset_as_before() -> None:
    """The shipped subset serves only its own font file and repertoire."""
    assert stored_font(OTHER_FONT, STAMP_REPERTOIRE) is None
    assert stored_font(DEFAULT_FONT, STAMP_REPERTOIRE + "Ω") is None
    assert stored_font(Path("/khong/co/font.ttf"), STAMP_REPERTOIRE) is None
    other = prepared_font(OTHER_FONT)
    assert other is not None and other.base_font.endswith("+LiberationSans")


def test_a_written_store_reads_back_and_a_changed_one_is_not_used(tmp_path: Path) -> None:
    """What write_store keeps is what it made; a store of another format is ignored."""
    path = tmp_path / "stamp-font.json"
    made = write_store(OTHER_FONT, path)
    record = load_store(path)
    assert record is not None and record["font"] == OTHER_FONT.name
    assert _fields(made) == _fields(make_prepared_font(OTHER_FONT, STAMP_REPERTOIRE))
    record["format"] = 0
    path.write_text(json.dumps(record))
    load_store.cache_clear()
    assert load_store(path) is None


def test_a_stamp_with_the_default_font_needs_no_subsetter(tmp_path: Path) -> None:
    """A process that draws a Vietnamese stamp imports neither fontTools' subsetter nor
    HarfBuzz: the shipped subset serves it."""
    script = (
        "import sys\n"
        "from signing.stamp.shaping import check_font, font_factory\n"
        "from signing.stamp.text import DEFAULT_FONT\n"
        "check_font(DEFAULT_FONT)\n"
        "font_factory(DEFAULT_FONT, ('Ký bởi: Nguyễn Văn Thử', 'Cơ quan: UBND xã'), 10)\n"
        "print(sorted(m for m in ('fontTools.subset', 'uharfbuzz') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_shipped_subset_draws_a_stamp_that_reads_back(
    unsigned_pdf: bytes, signer: SimpleSigner, trust: list[Path]
) -> None:
    """Signed with the shipped subset: valid, the text extracts, the program is the shipped one."""
    stamp = StampText(TEST_SIGNER, TEST_OFFICE, signed_at=TEST_SIGNED_AT)
    signed = sign_pdf(unsigned_pdf, signer, SignOptions(stamp=stamp))
    assert verify_pdf(signed, trust).ok
    (view,) = read_stamps(signed)
    assert TEST_SIGNER in view.text and view.font_embedded
    shipped = stored_font(DEFAULT_FONT, STAMP_REPERTOIRE)
    assert shipped is not None and view.base_font.startswith("/" + shipped.base_font)
