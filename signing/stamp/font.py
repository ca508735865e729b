"""The stamp's embedded font: subset and encoded once per process, copied into each document."""

from __future__ import annotations

import functools
import hashlib
import io
import re
import string
import unicodedata
import weakref
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fontTools import ttLib  # type: ignore[import-untyped]  # fontTools ships no stubs
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine, FontEngineFactory, ShapeResult
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

from signing.errors import StampError

__all__ = [
    "STAMP_REPERTOIRE",
    "VIETNAMESE_LETTERS",
    "PreparedFont",
    "PreparedFontFactory",
    "make_prepared_font",
    "prepared_font",
    "prepared_font_for",
]

_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
"""Vietnamese tone marks: none, huyền, sắc, ngã, hỏi, nặng."""

VIETNAMESE_LETTERS = "".join(
    sorted(
        {
            unicodedata.normalize("NFC", base + tone)
            for base in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
            for tone in _TONES
        }
        | set("đĐ")
        | set(string.ascii_letters)
    )
)
"""Every letter of the Vietnamese alphabet with every tone, both cases, NFC (and a–z, A–Z)."""

STAMP_REPERTOIRE = "".join(
    sorted(set(VIETNAMESE_LETTERS + string.digits + string.punctuation + " –—‘’“”…°\u00a0"))
)
"""Characters every prepared stamp font holds: any Vietnamese name, label or signing time."""

_PDF_UNITS = 1000
"""Units per em of PDF glyph space (widths, font descriptor metrics)."""

_SIMPLE_BLOCKS = ((0x20, 0x24F), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x20A0, 0x20CF))
"""Basic Latin to Latin Extended-B, Latin Extended Additional, punctuation, currency:
characters a Latin font draws with one glyph each, no shaping needed."""

_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
"""A BCP 47 language tag, safe to write as a literal PDF string."""


@dataclass(frozen=True, eq=False)
class PreparedFont:
    """A font subset made once, with its PDF objects already encoded and compressed.

    The three dictionaries are kept as PDF text with ``%d %d R`` where a reference
    to the document's own objects goes, so a document pays for one formatting and
    for copying the compressed streams.
    """

    base_font: str
    """PostScript name with its six-letter subset tag, e.g. ``ABCDEF+LiberationSerif``."""

    glyph_of: Mapping[str, int]
    """Glyph id (also the CID, Identity mapping) of each character the subset holds."""

    widths: tuple[int, ...]
    """Advance of each glyph id in thousandths of an em, as the embedded program has it."""

    program: bytes
    """The subset TrueType program, Flate-compressed (the ``/FontFile2`` stream)."""

    program_length: int
    """Length of the program before compression (``/Length1``)."""

    to_unicode: bytes
    """The ToUnicode CMap, Flate-compressed."""

    descriptor: bytes
    """The font descriptor; its one reference is the font program."""

    cid_font: bytes
    """The CIDFontType2 dictionary with its widths; its one reference is the descriptor."""

    type0: bytes
    """The Type0 font; its references are the CIDFont, then the ToUnicode CMap."""

    def covers(self, text: str) -> bool:
        """True when every character of ``text`` has its own glyph in this subset."""
        return all(char in self.glyph_of for char in text)

    def embed(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        """Add the font's objects to ``writer`` once and return the Type0 font's reference."""
        done = _embedded.setdefault(writer, {})
        ref = done.get(id(self))
        if ref is not None:
            return ref
        program = writer.add_object(_stream(self.program, length1=self.program_length))
        descriptor = writer.add_object(_Encoded(self.descriptor % _ref(program)))
        cid_font = writer.add_object(_Encoded(self.cid_font % _ref(descriptor)))
        to_unicode = writer.add_object(_stream(self.to_unicode))
        ref = writer.add_object(_Encoded(self.type0 % (_ref(cid_font) + _ref(to_unicode))))
        done[id(self)] = ref
        return ref


_embedded: weakref.WeakKeyDictionary[BasePdfFileWriter, dict[int, generic.IndirectObject]] = (
    weakref.WeakKeyDictionary()
)
"""Font objects already added to a writer (cached fonts live as long as the process)."""


def _ref(obj: generic.IndirectObject) -> tuple[int, int]:
    return (obj.idnum, obj.generation)


def _stream(encoded: bytes, length1: int | None = None) -> generic.StreamObject:
    """A Flate stream of already compressed bytes."""
    entries = {pdf_name("/Filter"): pdf_name("/FlateDecode")}
    stream = generic.StreamObject(entries, encoded_data=encoded)
    if length1 is not None:
        stream[pdf_name("/Length1")] = _Encoded(b"%d" % length1)
    return stream


class _Encoded(generic.PdfObject):
    """A PDF object written from bytes encoded beforehand."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def write_to_stream(self, stream: Any, handler: Any = None, container_ref: Any = None) -> None:
        stream.write(self._data)


class PreparedFontEngine(FontEngine):
    """Lays text out with a :class:`PreparedFont`: one glyph per character, its advance.

    Vietnamese in NFC needs no shaping: every letter with its tone mark is one
    precomposed glyph, so the font's cmap and advance widths are all the layout.
    Each line is tagged with its text (``/ActualText``) and language, as pyHanko's
    own engine does.
    """

    def __init__(
        self, writer: BasePdfFileWriter, font: PreparedFont, font_size: int, lang: str | None
    ) -> None:
        super().__init__(writer, font.base_font, embedded_subset=False, font_size=font_size)
        if lang is not None and not _LANG.fullmatch(lang):
            raise ValueError(f"not a BCP 47 language tag: {lang!r}")
        self._font = font
        self._lang = lang

    @property
    def uses_complex_positioning(self) -> bool:
        """False: lines are shown with ``Tj`` and moved with ``T*``."""
        return False

    def shape(self, txt: str) -> ShapeResult:
        """Return the operators that show ``txt`` and its advance in ems."""
        if not txt:
            return ShapeResult(b"", 0, 0)
        glyph_of, widths = self._font.glyph_of, self._font.widths
        glyphs = [glyph_of.get(char, 0) for char in txt]
        # each line carries its text (UTF-16 with BOM) and language for extraction
        actual = b"<feff" + txt.encode("utf-16-be").hex().encode("ascii") + b">"
        lang = b"" if self._lang is None else b" /Lang (" + self._lang.encode("ascii") + b")"
        shown = "".join(f"{glyph:04x}" for glyph in glyphs).encode("ascii")
        ops = b"/Span << /ActualText %s%s >> BDC <%s> Tj EMC" % (actual, lang, shown)
        advance = sum(widths[glyph] for glyph in glyphs) / _PDF_UNITS
        return ShapeResult(graphics_ops=ops, x_advance=advance, y_advance=0)

    def as_resource(self) -> generic.IndirectObject:
        """The document's Type0 font, added on first use."""
        return self._font.embed(self.writer)


@dataclass(frozen=True)
class PreparedFontFactory(FontEngineFactory):
    """Makes a :class:`PreparedFontEngine` for each text box of a stamp."""

    font: PreparedFont
    """The prepared subset to draw with."""

    font_size: int = 10
    """Font size in points."""

    lang: str | None = "vi"
    """BCP 47 language of the text, written with each line."""

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: Any = None
    ) -> PreparedFontEngine:
        return PreparedFontEngine(writer, self.font, self.font_size, self.lang)


def prepared_font_for(font_path: Path, text: str) -> PreparedFont | None:
    """Return the prepared font of ``font_path`` for ``text``, or None when it needs shaping.

    The subset holds :data:`STAMP_REPERTOIRE` plus any other Latin letter of
    ``text``, so one subset serves every Vietnamese stamp. Text with other scripts
    or combining marks, or characters the font lacks, returns None: it is left to
    a shaping engine (HarfBuzz).
    """
    extra = "".join(sorted({char for char in text if char not in STAMP_REPERTOIRE}))
    if not all(_simple(char) for char in extra):
        return None
    font = prepared_font(font_path, extra)
    return font if font is not None and font.covers(text) else None


def _simple(char: str) -> bool:
    code = ord(char)
    return not unicodedata.combining(char) and any(lo <= code <= hi for lo, hi in _SIMPLE_BLOCKS)


@functools.lru_cache(maxsize=16)
def prepared_font(font_path: Path, extra: str = "") -> PreparedFont | None:
    """Subset ``font_path`` to :data:`STAMP_REPERTOIRE` and ``extra``, once per process.

    Returns None for a font without TrueType outlines (CFF-based OpenType), which
    this embedding (``/FontFile2``) cannot carry. The default font's subset is
    shipped made (:mod:`signing.stamp.font_store`) and used when the file is the
    one it was made from.
    """
    from signing.stamp.font_store import stored_font  # it imports this module

    wanted = STAMP_REPERTOIRE + extra
    return stored_font(font_path, wanted) or make_prepared_font(font_path, wanted)


def make_prepared_font(font_path: Path, wanted: str) -> PreparedFont | None:
    """Subset ``font_path`` to the characters of ``wanted`` it has and encode its objects.

    Returns None for a font without TrueType outlines. Hinting and layout tables are
    left out (no viewer shapes an embedded PDF font; hinting only guides screen
    rasterisers); outlines, metrics, the cmap and the names (with the font's
    licence) are kept.
    """
    # imported here: a tenth of a second, paid only where no prepared subset serves
    from fontTools import subset as font_subset

    options = font_subset.Options()
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.glyph_names = False
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "FFTM"]
    try:
        font = font_subset.load_font(str(font_path), options)
        try:
            if "glyf" not in font:
                return None
            mapped = font.getBestCmap() or {}
            subsetter = font_subset.Subsetter(options=options)
            subsetter.populate(text="".join(char for char in wanted if ord(char) in mapped))
            subsetter.subset(font)
            out = io.BytesIO()
            font.save(out)
        finally:
            font.close()
        program = out.getvalue()
        with ttLib.TTFont(io.BytesIO(program)) as subset:
            return _prepared(subset, program, wanted)
    except (OSError, ttLib.TTLibError, KeyError, AttributeError) as exc:
        raise StampError(f"Không mở được phông chữ cho chữ ký hiển thị: {font_path}") from exc


def _prepared(font: Any, program: bytes, wanted: str) -> PreparedFont:
    order: list[str] = font.getGlyphOrder()
    glyph_ids = {name: gid for gid, name in enumerate(order)}
    cmap: dict[int, str] = font.getBestCmap() or {}
    glyph_of = {char: glyph_ids[cmap[ord(char)]] for char in wanted if ord(char) in cmap}
    per_em: int = font["head"].unitsPerEm

    def scaled(value: float) -> int:
        return round(value * _PDF_UNITS / per_em)

    metrics = font["hmtx"].metrics
    widths = tuple(scaled(metrics[name][0]) for name in order)
    digest = hashlib.sha256(program).digest()
    tag = "".join(chr(ord("A") + byte % 26) for byte in digest[:6])
    ps_name = re.sub(r"[^A-Za-z0-9_.-]", "", font["name"].getDebugName(6) or "") or "Font"
    base_font = f"{tag}+{ps_name}"
    head, hhea, os2, post = font["head"], font["hhea"], font["OS/2"], font["post"]
    flags = 4  # symbolic: glyphs are chosen by CID, not by a standard encoding
    if post.isFixedPitch:
        flags |= 1
    if os2.panose.bFamilyType == 2 and os2.panose.bSerifStyle not in (11, 12, 13):
        flags |= 2  # serif
    if post.italicAngle:
        flags |= 64
    bbox = b" ".join(b"%d" % scaled(v) for v in (head.xMin, head.yMin, head.xMax, head.yMax))
    cap_height = getattr(os2, "sCapHeight", 0) or hhea.ascent
    stem_v = int(10 + 220 * (os2.usWeightClass - 50) / 900)
    name = ("/" + base_font).encode("ascii")
    descriptor = (
        b"<< /Type /FontDescriptor /FontName %s /Flags %d /FontBBox [%s] /ItalicAngle %s"
        b" /Ascent %d /Descent %d /CapHeight %d /StemV %d /FontFile2 %%d %%d R >>"
        % (
            name,
            flags,
            bbox,
            _real(float(post.italicAngle)),
            scaled(hhea.ascent),
            scaled(hhea.descent),
            scaled(cap_height),
            stem_v,
        )
    )
    cid_font = (
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont %s"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >>"
        b" /FontDescriptor %%d %%d R /CIDToGIDMap /Identity /W [0 [%s]] >>"
        % (name, b" ".join(b"%d" % width for width in widths))
    )
    type0 = (
        b"<< /Type /Font /Subtype /Type0 /BaseFont %s-Identity-H /Encoding /Identity-H"
        b" /DescendantFonts [%%d %%d R] /ToUnicode %%d %%d R >>" % name
    )
    return PreparedFont(
        base_font=base_font,
        glyph_of=MappingProxyType(glyph_of),
        widths=widths,
        program=zlib.compress(program, 9),
        program_length=len(program),
        to_unicode=zlib.compress(_to_unicode_cmap(glyph_of), 9),
        descriptor=descriptor,
        cid_font=cid_font,
        type0=type0,
    )


def _real(value: float) -> bytes:
    return (b"%.4f" % value).rstrip(b"0").rstrip(b".") or b"0"


def _to_unicode_cmap(glyph_of: Mapping[str, int]) -> bytes:
    """A ToUnicode CMap from glyph ids to characters (the lowest code point wins a glyph)."""
    text_of: dict[int, str] = {}
    for char in sorted(glyph_of):
        text_of.setdefault(glyph_of[char], char)
    pairs = sorted((gid, char) for gid, char in text_of.items() if gid != 0)
    blocks = []
    for start in range(0, len(pairs), 100):
        chunk = pairs[start : start + 100]
        lines = [f"<{gid:04x}> <{char.encode('utf-16-be').hex()}>" for gid, char in chunk]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(lines) + "\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")
