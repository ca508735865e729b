"""Structural PDF/A-2b checks of the clauses motcua relies on, with no validator needed."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from core.pdfa.graphics import GraphicsChecks
from core.pdfa.metadata import PDFA2, metadata_problems
from core.pdfa.objects import as_dict, is_true, pdf_names, resolve

__all__ = ["PdfaCheck", "PdfaViolation", "check_pdfa"]


@dataclass(frozen=True)
class PdfaViolation:
    clause: str
    """Where the rule is written: "ISO 19005-2 6.1.3", "ISO 19005-1 6.7.3" or "motcua"."""

    message: str
    """What is wrong, in English, for an operator's log."""

    def __str__(self) -> str:
        return f"{self.clause}: {self.message}"


class PdfaCheck:
    """The PDF/A-2b check (:data:`check_pdfa`): of a whole file, or of what an update adds."""

    def __call__(self, data: bytes) -> list[PdfaViolation]:
        """Check a PDF's bytes against the PDF/A-2b clauses we rely on; empty when none failed.

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

    def update(self, base: bytes, updated: bytes) -> list[PdfaViolation]:
        """Check only what ``updated`` adds to ``base`` as incremental updates.

        ``base`` is taken as already checked: its objects are not read again, only
        the objects the later revisions add or replace are (see
        :func:`core.pdfa.update.check_pdfa_update`). A file that does not start with
        ``base`` is checked whole.
        """
        from core.pdfa.update import check_pdfa_update

        return check_pdfa_update(base, updated)

    def __reduce__(self) -> str:
        return "check_pdfa"  # pickled as a reference to the module's one instance


check_pdfa = PdfaCheck()
"""Check a PDF's bytes against the PDF/A-2b clauses we rely on; an empty list means none
failed. ``check_pdfa.update(base, updated)`` checks only what an incremental update adds."""


_FILTERS = pdf_names(
    "ASCIIHexDecode ASCII85Decode FlateDecode RunLengthDecode CCITTFaxDecode JBIG2Decode "
    "DCTDecode JPXDecode"
)
"""Stream filters PDF/A-2 allows (ISO 32000-1 Table 6 without LZWDecode and Crypt)."""

_ANNOTATIONS = pdf_names(
    "Text Link FreeText Line Square Circle Polygon PolyLine Highlight Underline Squiggly "
    "StrikeOut Stamp Caret Ink Popup FileAttachment Widget PrinterMark TrapNet Watermark Redact"
)
_ACTIONS = pdf_names("GoTo GoToR GoToE Thread URI Named SubmitForm")
_NAMED_ACTIONS = pdf_names("NextPage PrevPage FirstPage LastPage")
_ACTION_KEYS = pdf_names("A OpenAction Next PA")
"""Keys whose dictionary value is an action."""

_HEADER = re.compile(rb"%PDF-1\.[0-7](\r\n|\r|\n)%([\x80-\xff]{4})")


class _Checker(GraphicsChecks):
    """One run of the checks over one file, collecting violations in order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.violations: list[PdfaViolation] = []
        self.output_space: str | None = None

    def add(self, clause: str, message: str) -> None:
        violation = PdfaViolation(clause, message)
        if violation not in self.violations:
            self.violations.append(violation)

    def open_catalog(self, reader: PdfReader) -> DictionaryObject | None:
        """The document catalog, or None (with the violation) when the file is encrypted or
        its trailer names none: nothing else can then be checked."""
        if "/Encrypt" in reader.trailer or reader.is_encrypted:
            self.add(f"{PDFA2} 6.1.3", "the file is encrypted (/Encrypt in the trailer)")
            return None
        catalog = as_dict(reader.trailer.get("/Root"))
        if catalog is None:
            self.add(f"{PDFA2} 6.1", "the trailer has no document catalog (/Root)")
        return catalog

    def run(self) -> list[PdfaViolation]:
        self.check_bytes()
        try:
            reader = PdfReader(io.BytesIO(self.data), strict=False)
            catalog = self.open_catalog(reader)
            if catalog is None:
                return self.violations
            self.check_trailer(reader)
            self.check_output_intents(catalog)
            self.check_catalog(catalog)
            for clause, message in metadata_problems(catalog, as_dict(reader.trailer.get("/Info"))):
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
        ids = resolve(reader.trailer.get("/ID"))
        if not isinstance(ids, ArrayObject) or len(ids) != 2:
            self.add(f"{PDFA2} 6.1.3", "the trailer has no file identifier (/ID of two strings)")

    # 6.3 Annotations, 6.4 Forms, 6.5 Actions, 6.8 Embedded files ------------------------

    def check_catalog(self, catalog: DictionaryObject) -> None:
        names = as_dict(catalog.get("/Names"))
        if names is not None and "/JavaScript" in names:
            self.add(f"{PDFA2} 6.5.1", "the document has JavaScript (/Names /JavaScript)")
        if names is not None and "/EmbeddedFiles" in names:
            self.add(
                f"{PDFA2} 6.8", "the document has embedded files (/EmbeddedFiles); we allow none"
            )
        form = as_dict(catalog.get("/AcroForm"))
        if form is not None and is_true(form.get("/NeedAppearances")):
            self.add(f"{PDFA2} 6.4.1", "the form asks viewers to build appearances")
        if form is not None and "/XFA" in form:
            self.add(f"{PDFA2} 6.4.2", "the form carries XFA")
        if is_true(catalog.get("/NeedsRendering")):
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
        annotations = resolve(page.get("/Annots"))
        for item in annotations if isinstance(annotations, ArrayObject) else []:
            annotation = as_dict(item)
            if annotation is not None:
                self.check_annotation(number, annotation)

    def check_annotation(self, number: int, annotation: DictionaryObject) -> None:
        """Check one annotation of page ``number``."""
        where = f"page {number}: a {annotation.get('/Subtype')} annotation"
        subtype = annotation.get("/Subtype")
        if subtype not in _ANNOTATIONS:
            self.add(f"{PDFA2} 6.3.1", f"{where} is of a forbidden type")
        flags = resolve(annotation.get("/F"))
        if subtype != "/Popup":
            if not isinstance(flags, int):
                self.add(f"{PDFA2} 6.3.2", f"{where} has no flags (/F)")
            elif not flags & 4 or flags & (1 | 2 | 32 | 256):
                self.add(f"{PDFA2} 6.3.2", f"{where} is hidden or does not print")
        self.check_appearance(annotation, where)
        if subtype == "/Widget" and "/A" in annotation:
            self.add(f"{PDFA2} 6.4.1", f"{where} has an action (/A)")

    def check_appearance(self, annotation: DictionaryObject, where: str) -> None:
        rect = resolve(annotation.get("/Rect"))
        empty = (
            isinstance(rect, ArrayObject)
            and len(rect) == 4
            and (float(rect[0]) == float(rect[2]) and float(rect[1]) == float(rect[3]))
        )
        appearance = as_dict(annotation.get("/AP"))
        if appearance is None:
            if not empty and annotation.get("/Subtype") not in ("/Popup", "/Link"):
                self.add(f"{PDFA2} 6.3.3", f"{where} has no appearance stream")
            return
        normal = resolve(appearance.get("/N"))
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
            fonts = as_dict(value.get("/Font"))
            if fonts is not None:
                self.check_fonts(fonts)
            states = as_dict(value.get("/ExtGState"))
            if states is not None:
                self.check_ext_gstates(states)
        if key == "/Group":
            self.check_group(value, "a form XObject")
        if value.get("/Type") == "/Page":
            group = as_dict(value.get("/Group"))
            if group is not None:
                self.check_group(group, "page")

    def check_stream(self, stream: StreamObject) -> None:
        if any(key in stream for key in ("/F", "/FFilter", "/FDecodeParms")):
            self.add(f"{PDFA2} 6.1.7.1", "a stream refers to an external file (/F, /FFilter)")
        filters = resolve(stream.get("/Filter"))
        for name in filters if isinstance(filters, ArrayObject) else [filters]:
            if name is not None and resolve(name) not in _FILTERS:
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


def _kind(value: DictionaryObject, key: str) -> str:
    """A short description of a dictionary for a message."""
    if value.get("/Type") in ("/Catalog", "/Page"):
        return f"the {str(value['/Type'])[1:].lower()}"
    if "/Subtype" in value:
        return f"a {value['/Subtype']} object"
    return f"an object under {key or 'the trailer'}"


def _field_type(annotation: DictionaryObject) -> object:
    """The field type of a widget, inherited from its parent field when not its own."""
    parent = as_dict(annotation.get("/Parent"))
    return parent.get("/FT") if parent is not None else None
