"""The stamp font prepared ahead: the default font's subset, shipped so no process makes it.

Subsetting the font takes fontTools' subsetter, about 0.1 s of CPU to import and 0.03 s
to run, in every process that draws a stamp: a sixth of the start-up of ``motcua sign``.
The subset of :data:`signing.stamp.text.DEFAULT_FONT` is therefore made ahead and shipped
in ``data/stamp-font.json``, with the SHA-256 of the font file it was made from. A
process uses it only when its font file is that very file and the repertoire is the
same; any other font, version or repertoire is subset as before. Rebuild it with
``python -m signing.stamp.font_store`` after the font package or
:data:`signing.stamp.font.STAMP_REPERTOIRE` changes (a test says when).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

from signing.stamp.font import STAMP_REPERTOIRE, PreparedFont, make_prepared_font

__all__ = ["STORE", "load_store", "stored_font", "write_store"]

STORE = Path(__file__).with_name("data") / "stamp-font.json"
"""The prepared default font, as shipped."""

_FORMAT = 1
"""Version of the file's layout; a file of another version is not used."""


def stored_font(font_path: Path, repertoire: str) -> PreparedFont | None:
    """The shipped prepared font, when it was made from this very file and repertoire."""
    record = load_store(STORE)
    if record is None or record["repertoire"] != repertoire:
        return None
    try:
        digest = hashlib.sha256(font_path.read_bytes()).hexdigest()
    except OSError:
        return None  # the subsetter says what is wrong with the font
    if digest != record["font_sha256"]:
        return None
    return _font_of(record)


@functools.lru_cache(maxsize=2)
def load_store(path: Path) -> dict[str, Any] | None:
    """The record kept at ``path``, or None when there is none of this format."""
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if record.get("format") == _FORMAT else None


def write_store(font_path: Path, path: Path) -> PreparedFont:
    """Subset ``font_path`` to :data:`STAMP_REPERTOIRE` and keep the result at ``path``."""
    font = make_prepared_font(font_path, STAMP_REPERTOIRE)
    if font is None:
        raise ValueError(f"{font_path} has no TrueType outlines to embed")
    record = {
        "format": _FORMAT,
        "font": font_path.name,
        "font_sha256": hashlib.sha256(font_path.read_bytes()).hexdigest(),
        "repertoire": STAMP_REPERTOIRE,
        "base_font": font.base_font,
        "glyph_of": dict(font.glyph_of),
        "widths": list(font.widths),
        "program": base64.b64encode(font.program).decode("ascii"),
        "program_length": font.program_length,
        "to_unicode": base64.b64encode(font.to_unicode).decode("ascii"),
        "descriptor": font.descriptor.decode("ascii"),
        "cid_font": font.cid_font.decode("ascii"),
        "type0": font.type0.decode("ascii"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=True, indent=1) + "\n", encoding="utf-8")
    load_store.cache_clear()
    return font


def _font_of(record: dict[str, Any]) -> PreparedFont:
    return PreparedFont(
        base_font=record["base_font"],
        glyph_of=MappingProxyType(dict(record["glyph_of"])),
        widths=tuple(record["widths"]),
        program=base64.b64decode(record["program"]),
        program_length=record["program_length"],
        to_unicode=base64.b64decode(record["to_unicode"]),
        descriptor=record["descriptor"].encode("ascii"),
        cid_font=record["cid_font"].encode("ascii"),
        type0=record["type0"].encode("ascii"),
    )


def main() -> int:
    """Rebuild the shipped prepared font from the default font installed here."""
    from signing.stamp.text import DEFAULT_FONT

    font = write_store(DEFAULT_FONT, STORE)
    print(f"{STORE}: {font.base_font}, {len(font.glyph_of)} characters, from {DEFAULT_FONT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
