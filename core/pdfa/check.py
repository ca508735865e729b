"""Structural PDF/A-2b checks of the clauses motcua relies on, with no validator needed."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    IndirectObject,
    StreamObject,
)

from core.pdfa.metadata import PDFA2, metadata_problems

__all__ = ["PdfaViolation", "check_pdfa"]


@dataclass(frozen=True)
class PdfaViolation:
    clause: str
    """Where the rule is written: "ISO 19005-2 6.1.3", "ISO 19005-1 6.7.3" or "motcua"."""

    message: str
    """What is wrong, in English, for an operator's log."""

    def __str__(self) -> str:
        return f"{self.clause}: {self.message}"


def check_pdfa(data: bytes) -> list[PdfaViolation]:
    """Check a PDF's bytes against the PDF/A-2b clauses we rely on; an empty list means none failed.

    Covered: header and binary comment, nothing after the last ``%%EOF``, no
    encryption, trailer ``/ID``; stream keys and filters; the GTS_PDFA1
    OutputIntent and its ICC profile (class, colour space, ``/N``), device colour
    spaces of images and transparency groups against it; extended graphics state
    (transfer functions, halftones, blend modes, rendering intents); image and
    form XObject keys; every font embedded; annotation types, flags and
    appearances; forms (NeedAppearances, XFA); actions (JavaScript, Launch and
    other forbidden kinds, additional actions); embedded files; the XMP stream
    (uncompressed, no ``bytes``/``encoding`` in the packet header, well formed,
    ``pdfaid`` part 2 conformance B, extension schemas for every custom namespace)
    and its agreement with the Info dictionary; NFC text in both. This is not a
    full validator: content streams are not interpreted and fonts are not parsed.
    """
    return _Checker(data).run()


def _names(words: str) -> frozenset[str]:
    """PDF names from space-separated words."""
    return frozenset(f"/{word}" for word in words.split())


_FILTERS = _names(
    "ASCIIHexDecode ASCII85Decode FlateDecode RunLengthDecode CCITTFaxDecode JBIG2Decode "
    "DCTDecode JPXDecode"
)
"""Stream filters PDF/A-2 allows (ISO 32000-1 Table 6 without LZWDecode and Crypt)."""

_BLEND_MODES = _names(
    "Normal Compatible Multiply Screen Overlay Darken Lighten ColorDodge ColorBurn HardLight "
    "SoftLight Difference Exclusion Hue Saturation Color Luminosity"
)
_INTENTS = _names("RelativeColorimetric AbsoluteColorimetric Perceptual Saturation")
_ANNOTATIONS = _names(
    "Text Link FreeText Line Square Circle Polygon PolyLine Highlight Underline Squiggly "
    "StrikeOut Stamp Caret Ink Popup FileAttachment Widget PrinterMark TrapNet Watermark Redact"
)
_ACTIONS = _names("GoTo GoToR GoToE Thread URI Named SubmitForm")
_NAMED_ACTIONS = _names("NextPage PrevPage FirstPage LastPage")
_ACTION_KEYS = _names("A OpenAction Next PA")
"""Keys whose dictionary value is an action."""

_ICC_SPACES = {b"GRAY": (1, "GRAY"), b"RGB ": (3, "RGB"), b"CMYK": (4, "CMYK")}
"""ICC colour space signatures of an output profile: components and our short name."""

_DEVICE_SPACES = {"/DeviceRGB": "RGB", "/DeviceCMYK": "CMYK", "/DeviceGray": "GRAY"}

_HEADER = re.compile(rb"%PDF-1\.[0-7](\r\n|\r|\n)%([\x80-\xff]{4})")


class _Checker:
    """One run of the checks over one file, collecting violations in order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.violations: list[PdfaViolation] = []
        self.output_space: str | None = None

    def add(self, clause: str, message: str) -> None:
        violation = PdfaViolation(clause, message)
        if violation not in self.violations:
            self.violations.append(violation)

    def run(self) -> list[PdfaViolation]:
        self.check_bytes()
        try:
            reader = PdfReader(io.BytesIO(self.data), strict=False)
            encrypted = reader.is_encrypted
            if "/Encrypt" in reader.trailer or encrypted:
                self.add(f"{PDFA2} 6.1.3", "the file is encrypted (/Encrypt in the trailer)")
                return self.violations
            catalog = _dict(reader.trailer.get("/Root"))
            if catalog is None:
                self.add(f"{PDFA2} 6.1", "the trailer has no document catalog (/Root)")
                return self.violations
            self.check_trailer(reader)
            self.check_output_intents(catalog)
            self.check_catalog(catalog)
            for clause, message in metadata_problems(catalog, _dict(reader.trailer.get("/Info"))):
                self.add(clause, message)
            self.walk(catalog)
            for number, page in enumerate(reader.pages, start=1):
                self.check_annotations(number, page)
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            self.add(f"{PDFA2} 6.1", f"the file cannot be read as PDF ({type(exc).__name__})")
        return self.violations

    # 6.1 File structure -------------------------------------------------------------------

    def check_bytes(self) -> None:
        if not _HEADER.match(self.data):
            self.add(
                f"{PDFA2} 6.1.2",
                "the file does not start with %PDF-1.n, an end of line and a comment "
                "of four bytes above 127",
            )
        end = self.data.rfind(b"%%EOF")
        if end < 0:
            self.add(f"{PDFA2} 6.1.3", "there is no %%EOF marker")
        elif self.data[end + 5 :] not in (b"", b"\n", b"\r\n", b"\r"):
            self.add(f"{PDFA2} 6.1.3", "data follows the last %%EOF marker")

    def check_trailer(self, reader: PdfReader) -> None:
        ids = _resolve(reader.trailer.get("/ID"))
        if not isinstance(ids, ArrayObject) or len(ids) != 2:
            self.add(f"{PDFA2} 6.1.3", "the trailer has no file identifier (/ID of two strings)")

    # 6.2 Graphics -------------------------------------------------------------------------

    def check_output_intents(self, catalog: DictionaryObject) -> None:
        intents = _resolve(catalog.get("/OutputIntents"))
        profiles: list[object] = []
        for item in intents if isinstance(intents, ArrayObject) else []:
            intent = _dict(item)
            if intent is None:
                continue
            if "/DestOutputProfileRef" in intent:
                self.add(f"{PDFA2} 6.2.3", "an OutputIntent uses DestOutputProfileRef")
            raw = intent.get("/DestOutputProfile")
            if raw is not None:
                profiles.append(raw.idnum if isinstance(raw, IndirectObject) else id(raw))
            if intent.get("/S") == "/GTS_PDFA1":
                profile = _resolve(raw)
                if not isinstance(profile, StreamObject):
                    self.add(f"{PDFA2} 6.2.3", "the PDF/A OutputIntent has no ICC profile")
                else:
                    self.check_icc(profile)
        if len(set(profiles)) > 1:
            self.add(f"{PDFA2} 6.2.3", "OutputIntents carry different destination profiles")
        if self.output_space is None:
            self.add(
                f"{PDFA2} 6.2.4.3",
                "no GTS_PDFA1 OutputIntent with a valid profile, so device colour "
                "(DeviceGray/DeviceRGB scans and text) is not allowed",
            )

    def check_icc(self, profile: StreamObject) -> None:
        icc = profile.get_data()
        space = _ICC_SPACES.get(icc[16:20]) if len(icc) >= 128 else None
        if len(icc) < 128 or icc[36:40] != b"acsp":
            self.add(f"{PDFA2} 6.2.3", "the OutputIntent profile is not an ICC profile")
        elif icc[12:16] not in (b"prtr", b"mntr") or space is None or icc[8] >= 5:
            self.add(
                f"{PDFA2} 6.2.3",
                "the OutputIntent profile must be an ICC v2-v4 output or monitor profile "
                "in GRAY, RGB or CMYK",
            )
        elif profile.get("/N") != space[0]:
            self.add(
                f"{PDFA2} 6.2.3",
                f"the OutputIntent profile is {space[1]} but its /N is {profile.get('/N')}",
            )
        else:
            self.output_space = space[1]

    def check_device_space(self, value: object, where: str) -> None:
        space = _resolve(value)
        if isinstance(space, ArrayObject) and len(space) > 1 and space[0] == "/Indexed":
            space = _resolve(space[1])
        needed = _DEVICE_SPACES.get(str(space)) if isinstance(space, str) else None
        if needed is None or self.output_space is None:
            return  # ICC-based or special colour, or already reported: no OutputIntent
        if needed != "GRAY" and needed != self.output_space:
            self.add(
                f"{PDFA2} 6.2.4.3",
                f"{where} uses {space} but the PDF/A OutputIntent is {self.output_space}",
            )

    def check_ext_gstate(self, state: DictionaryObject) -> None:
        if "/TR" in state:
            self.add(f"{PDFA2} 6.2.5", "a graphics state has a transfer function (/TR)")
        if "/TR2" in state and state.get("/TR2") != "/Default":
            self.add(f"{PDFA2} 6.2.5", "a graphics state has a transfer function (/TR2)")
        if "/HTP" in state:
            self.add(f"{PDFA2} 6.2.5", "a graphics state has a halftone phase (/HTP)")
        halftone = _dict(state.get("/HT"))
        if halftone is not None and (
            halftone.get("/HalftoneType") not in (1, 5) or "/HalftoneName" in halftone
        ):
            self.add(f"{PDFA2} 6.2.5", "a halftone is not of type 1 or 5, or is named")
        modes = _resolve(state.get("/BM"))
        for mode in modes if isinstance(modes, ArrayObject) else [modes]:
            if mode is not None and _resolve(mode) not in _BLEND_MODES:
                self.add(f"{PDFA2} 6.2.10", f"a graphics state uses the blend mode {mode}")
        if "/RI" in state and state.get("/RI") not in _INTENTS:
            self.add(f"{PDFA2} 6.2.6", f"a graphics state uses the rendering intent {state['/RI']}")

    def check_image(self, image: StreamObject) -> None:
        if "/Alternates" in image:
            self.add(f"{PDFA2} 6.2.8.1", "an image has alternates (/Alternates)")
        if "/OPI" in image:
            self.add(f"{PDFA2} 6.2.8.1", "an image has OPI information")
        if _is_true(image.get("/Interpolate")):
            self.add(f"{PDFA2} 6.2.8.1", "an image asks for interpolation")
        if "/Intent" in image and image.get("/Intent") not in _INTENTS:
            self.add(f"{PDFA2} 6.2.6", f"an image uses the rendering intent {image['/Intent']}")
        self.check_device_space(image.get("/ColorSpace"), "an image")

    def check_form(self, form: StreamObject) -> None:
        if "/OPI" in form or "/PS" in form or form.get("/Subtype2") == "/PS":
            self.add(f"{PDFA2} 6.2.9.1", "a form XObject carries PostScript or OPI")
        if "/Ref" in form:
            self.add(f"{PDFA2} 6.2.9.2", "a reference XObject is used")

    def check_group(self, group: DictionaryObject, where: str) -> None:
        if group.get("/S") != "/Transparency":
            return
        if "/CS" in group:
            self.check_device_space(group.get("/CS"), f"the transparency group of {where}")
        elif self.output_space is None and where.startswith("page"):
            self.add(
                f"{PDFA2} 6.2.10",
                f"{where} has a transparency group without a blending colour space "
                "and the file has no OutputIntent",
            )

    def check_fonts(self, fonts: DictionaryObject) -> None:
        for name, value in fonts.items():
            font = _dict(value)
            if font is None:
                continue
            if font.get("/Type") != "/Font":
                self.add(f"{PDFA2} 6.2.11.2", f"font {name} is not typed /Font")
            subtype = font.get("/Subtype")
            if subtype == "/Type3":
                continue  # glyphs are content streams, nothing to embed
            descendants = _resolve(font.get("/DescendantFonts"))
            targets = (
                [_dict(d) for d in descendants]
                if subtype == "/Type0" and isinstance(descendants, ArrayObject)
                else [font]
            )
            for target in targets:
                descriptor = _dict(target.get("/FontDescriptor")) if target else None
                embedded = descriptor is not None and any(
                    key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
                )
                if not embedded:
                    base = (target or font).get("/BaseFont", name)
                    self.add(f"{PDFA2} 6.2.11.4.1", f"font {base} is not embedded")

    # 6.3 Annotations, 6.4 Forms, 6.5 Actions, 6.8 Embedded files ------------------------

    def check_catalog(self, catalog: DictionaryObject) -> None:
        names = _dict(catalog.get("/Names"))
        if names is not None and "/JavaScript" in names:
            self.add(f"{PDFA2} 6.5.1", "the document has JavaScript (/Names /JavaScript)")
        if names is not None and "/EmbeddedFiles" in names:
            self.add(
                f"{PDFA2} 6.8", "the document has embedded files (/EmbeddedFiles); we allow none"
            )
        form = _dict(catalog.get("/AcroForm"))
        if form is not None and _is_true(form.get("/NeedAppearances")):
            self.add(f"{PDFA2} 6.4.1", "the form asks viewers to build appearances")
        if form is not None and "/XFA" in form:
            self.add(f"{PDFA2} 6.4.2", "the form carries XFA")
        if _is_true(catalog.get("/NeedsRendering")):
            self.add(f"{PDFA2} 6.4.2", "the catalog asks for dynamic rendering (NeedsRendering)")

    def check_action(self, action: DictionaryObject) -> None:
        kind = action.get("/S")
        if kind not in _ACTIONS:
            self.add(f"{PDFA2} 6.5.1", f"the document has a forbidden {kind} action")
        elif kind == "/Named" and action.get("/N") not in _NAMED_ACTIONS:
            self.add(
                f"{PDFA2} 6.5.1", f"the document has a forbidden named action {action.get('/N')}"
            )

    def check_annotations(self, number: int, page: DictionaryObject) -> None:
        annotations = _resolve(page.get("/Annots"))
        for item in annotations if isinstance(annotations, ArrayObject) else []:
            annotation = _dict(item)
            if annotation is None:
                continue
            where = f"page {number}: a {annotation.get('/Subtype')} annotation"
            subtype = annotation.get("/Subtype")
            if subtype not in _ANNOTATIONS:
                self.add(f"{PDFA2} 6.3.1", f"{where} is of a forbidden type")
            flags = _resolve(annotation.get("/F"))
            if subtype != "/Popup":
                if not isinstance(flags, int):
                    self.add(f"{PDFA2} 6.3.2", f"{where} has no flags (/F)")
                elif not flags & 4 or flags & (1 | 2 | 32 | 256):
                    self.add(f"{PDFA2} 6.3.2", f"{where} is hidden or does not print")
            self.check_appearance(annotation, where)
            if subtype == "/Widget" and "/A" in annotation:
                self.add(f"{PDFA2} 6.4.1", f"{where} has an action (/A)")

    def check_appearance(self, annotation: DictionaryObject, where: str) -> None:
        rect = _resolve(annotation.get("/Rect"))
        empty = (
            isinstance(rect, ArrayObject)
            and len(rect) == 4
            and (float(rect[0]) == float(rect[2]) and float(rect[1]) == float(rect[3]))
        )
        appearance = _dict(annotation.get("/AP"))
        if appearance is None:
            if not empty and annotation.get("/Subtype") not in ("/Popup", "/Link"):
                self.add(f"{PDFA2} 6.3.3", f"{where} has no appearance stream")
            return
        normal = _resolve(appearance.get("/N"))
        button = annotation.get("/FT") == "/Btn" or _field_type(annotation) == "/Btn"
        if set(appearance.keys()) != {"/N"}:
            self.add(f"{PDFA2} 6.3.3", f"{where} has appearances other than /N")
        elif not isinstance(normal, StreamObject) and not (
            button and isinstance(normal, DictionaryObject)
        ):
            self.add(f"{PDFA2} 6.3.3", f"{where} has a normal appearance that is not a stream")

    # The object graph ---------------------------------------------------------------------

    def walk(self, root: DictionaryObject) -> None:
        """Visit every object reachable from the catalog once, checking each by its kind."""
        seen: set[tuple[int, int]] = set()
        stack: list[tuple[object, str]] = [(root, "")]
        while stack:
            value, key = stack.pop()
            if isinstance(value, IndirectObject):
                ref = (value.idnum, value.generation)
                if ref in seen:
                    continue
                seen.add(ref)
                value = value.get_object()
            if isinstance(value, ArrayObject):
                stack.extend((item, key) for item in value)
            elif isinstance(value, DictionaryObject):
                self.check_dictionary(value, key)
                signature_field = value.get("/FT") == "/Sig"
                stack.extend(
                    (item, name)
                    for name, item in value.items()
                    if not _is_signature_value(name, signature_field)
                )

    def check_dictionary(self, value: DictionaryObject, key: str) -> None:
        if isinstance(value, StreamObject):
            self.check_stream(value)
        if "/AA" in value:
            self.add(f"{PDFA2} 6.5.2", f"{_kind(value, key)} has additional actions (/AA)")
        if "/EF" in value:
            self.add(f"{PDFA2} 6.8", "a file specification embeds a file (/EF); we allow none")
        if key in _ACTION_KEYS and "/S" in value and value.get("/Type", "/Action") == "/Action":
            self.check_action(value)
        if key == "/Resources":
            fonts = _dict(value.get("/Font"))
            if fonts is not None:
                self.check_fonts(fonts)
            states = _dict(value.get("/ExtGState"))
            for state in states.values() if states is not None else []:
                resolved = _dict(state)
                if resolved is not None:
                    self.check_ext_gstate(resolved)
        if key == "/Group":
            self.check_group(value, "a form XObject")
        if value.get("/Type") == "/Page":
            group = _dict(value.get("/Group"))
            if group is not None:
                self.check_group(group, "page")

    def check_stream(self, stream: StreamObject) -> None:
        if any(key in stream for key in ("/F", "/FFilter", "/FDecodeParms")):
            self.add(f"{PDFA2} 6.1.7.1", "a stream refers to an external file (/F, /FFilter)")
        filters = _resolve(stream.get("/Filter"))
        for name in filters if isinstance(filters, ArrayObject) else [filters]:
            if name is not None and _resolve(name) not in _FILTERS:
                self.add(f"{PDFA2} 6.1.7.2", f"a stream uses the filter {name}")
        subtype = stream.get("/Subtype")
        if subtype == "/Image":
            self.check_image(stream)
        elif subtype == "/Form":
            self.check_form(stream)
        elif subtype == "/PS":
            self.add(f"{PDFA2} 6.2.9.3", "the document has a PostScript XObject")


def _is_signature_value(name: str, in_signature_field: bool) -> bool:
    """Whether a key leads to a signature dictionary (a field's /V, /Perms' /DocMDP).

    Those hold the signature itself (a long hex string that is slow to parse) and
    fall under none of the clauses checked here: signature validation covers them.
    """
    return name == "/DocMDP" or (in_signature_field and name == "/V")


def _resolve(value: object) -> object:
    """A pypdf value with indirect references followed."""
    while isinstance(value, IndirectObject):
        value = value.get_object()
    return value


def _is_true(value: object) -> bool:
    """Whether a pypdf value is the boolean true."""
    resolved = _resolve(value)
    return bool(resolved.value) if isinstance(resolved, BooleanObject) else resolved is True


def _dict(value: object) -> DictionaryObject | None:
    """A pypdf value as a dictionary, or None when it is something else."""
    resolved = _resolve(value)
    return resolved if isinstance(resolved, DictionaryObject) else None


def _kind(value: DictionaryObject, key: str) -> str:
    """A short description of a dictionary for a message."""
    if value.get("/Type") in ("/Catalog", "/Page"):
        return f"the {str(value['/Type'])[1:].lower()}"
    if "/Subtype" in value:
        return f"a {value['/Subtype']} object"
    return f"an object under {key or 'the trailer'}"


def _field_type(annotation: DictionaryObject) -> object:
    """The field type of a widget, inherited from its parent field when not its own."""
    parent = _dict(annotation.get("/Parent"))
    return parent.get("/FT") if parent is not None else None
