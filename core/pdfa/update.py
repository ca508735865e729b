"""PDF/A checks of an incremental update: only the objects its revisions add or replace.

A signature is an incremental update: the signed file is the input, byte for byte,
followed by revisions that add the signature dictionary, the field and its widget,
the stamp's appearance stream with its font and images, and new versions of the
page, the page tree and the catalog they change. When the input was checked
already (digitized documents are, at assembly), only those objects can bring a new
fault, so only they are read: the checks of :mod:`core.pdfa.check` run on each of
them, in the context in which a new object refers to it (a resource dictionary, a
transparency group, an action, an annotation). Of the base's objects only the
catalog and the OutputIntent that new colour is checked against are read, and those a
check must follow from a new object (a new font's descriptor, say); the page tree only
when a fault must name its page.
Signature dictionaries (the ``/Contents`` hole of a ``/ByteRange``) are never parsed,
as the whole-file check never parses them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from core.pdfa.check import PdfaViolation, _Checker, _is_signature_value
from core.pdfa.metadata import PDFA2, metadata_problems
from core.pdfa.objects import as_dict, resolve

__all__ = ["UpdateReport", "check_pdfa_update", "inspect_update"]

Ref = tuple[int, int]
"""An object's number and generation."""

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_HEX_STRING = re.compile(rb"<[0-9A-Fa-f]*>")


@dataclass(frozen=True)
class UpdateReport:
    """What checking an incremental update found, and which objects it read."""

    violations: tuple[PdfaViolation, ...]
    """The PDF/A-2b clauses the update's objects fail (nothing means none)."""

    update_objects: frozenset[int]
    """Numbers of the objects the update adds or replaces."""

    examined: frozenset[int]
    """Numbers of every object read: the update's own and the few of the base that
    new objects point to and a check looks into."""

    whole: bool = False
    """True when the file did not start with the base, so it was checked whole."""


def check_pdfa_update(base: bytes, updated: bytes) -> list[PdfaViolation]:
    """Check what ``updated`` adds to ``base`` (its first bytes) against PDF/A-2b.

    ``base`` is taken as already checked (see :func:`core.pdfa.check.check_pdfa`):
    faults it has are not looked for again. A file that does not start with
    ``base`` is checked whole.
    """
    return list(inspect_update(base, updated).violations)


def inspect_update(base: bytes, updated: bytes) -> UpdateReport:
    """Check the update as :func:`check_pdfa_update` does, saying which objects it read."""
    if not updated.startswith(base):
        checker = _Checker(updated)
        return UpdateReport(tuple(checker.run()), frozenset(), frozenset(), whole=True)
    update = _UpdateChecker(updated, len(base))
    violations = update.run()
    return UpdateReport(
        tuple(violations),
        frozenset(idnum for idnum, _generation in update.new),
        frozenset(update.examined),
    )


class _RecordingReader(PdfReader):
    """A pypdf reader that notes the number of every object it reads."""

    def __init__(self, data: bytes, examined: set[int]) -> None:
        self.examined = examined
        super().__init__(io.BytesIO(data), strict=False)

    def get_object(self, indirect_reference: int | IndirectObject) -> PdfObject | None:
        if isinstance(indirect_reference, int):
            self.examined.add(indirect_reference)
        else:
            self.examined.add(indirect_reference.idnum)
        return super().get_object(indirect_reference)


class _UpdateChecker(_Checker):
    """The checks of :class:`core.pdfa.check._Checker`, run on an update's objects only."""

    def __init__(self, data: bytes, base_length: int) -> None:
        super().__init__(data)
        self.base_length = base_length
        self.examined: set[int] = set()
        self.new: set[Ref] = set()
        self.reader: PdfReader | None = None

    def run(self) -> list[PdfaViolation]:
        self.check_bytes()
        try:
            reader = _RecordingReader(self.data, self.examined)
            self.reader = reader
            catalog = self.open_catalog(reader)
            if catalog is None:
                return self.violations
            self.new = _update_objects(reader, self.base_length)
            self.check_trailer(reader)
            self.check_output_intents(catalog)  # the output space new colour must agree with
            self.check_catalog(catalog)
            if self._metadata_changed(reader, catalog):
                info = as_dict(reader.trailer.get("/Info"))
                for clause, message in metadata_problems(catalog, info):
                    self.add(clause, message)
            self._check_new_objects(reader)
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            self.add(f"{PDFA2} 6.1", f"the file cannot be read as PDF ({type(exc).__name__})")
        return self.violations

    # What the update holds ------------------------------------------------------------------

    def _metadata_changed(self, reader: PdfReader, catalog: DictionaryObject) -> bool:
        """Whether the XMP stream or the Info dictionary may differ from the base's."""
        # dict.get: the value as written, a reference not followed
        refs = [dict.get(reader.trailer, "/Info"), dict.get(catalog, "/Metadata")]
        if refs[1] is None and self._is_new(dict.get(reader.trailer, "/Root")):
            return True  # a new catalog without metadata: let the check say so
        return any(ref is not None and self._is_new(ref) for ref in refs)

    def _is_new(self, value: object) -> bool:
        """A direct value (written with its new container) or an object of the update."""
        if not isinstance(value, IndirectObject):
            return True
        return (value.idnum, value.generation) in self.new

    def _check_new_objects(self, reader: PdfReader) -> None:
        skipped = self._signature_dictionaries(reader)
        objects: dict[Ref, object] = {}
        for ref in sorted(self.new - skipped):
            objects[ref] = IndirectObject(ref[0], ref[1], reader).get_object()
        contexts, signature_values = _contexts(objects)
        for ref, value in objects.items():
            if ref in signature_values:
                continue
            for key in sorted(contexts.get(ref) or {""}):
                self.walk_new(value, key)

    def _signature_dictionaries(self, reader: PdfReader) -> set[Ref]:
        """The update's objects that hold a signature's ``/Contents`` hole, left unparsed."""
        located = sorted(
            (offset, ref)
            for ref in self.new
            if isinstance(offset := reader.xref.get(ref[1], {}).get(ref[0]), int)
            and ref[0] not in reader.xref_objStm
        )
        found: set[Ref] = set()
        for match in _BYTE_RANGE.finditer(self.data, self.base_length):
            a, b, c, _d = (int(group) for group in match.groups())
            if a != 0 or not self.base_length <= b < c <= len(self.data):
                continue
            if _HEX_STRING.fullmatch(self.data, b, c) is None:
                continue
            holders = [ref for offset, ref in located if offset <= b]
            if holders:
                found.add(holders[-1])
        return found

    # Checking them ----------------------------------------------------------------------------

    def walk_new(self, root: object, key: str) -> None:
        """Check ``root`` and what it holds directly; objects it refers to are not followed
        (a new one is checked on its own, one of the base was checked with the base)."""
        stack: list[tuple[object, str]] = [(root, key)]
        while stack:
            value, key = stack.pop()
            if isinstance(value, IndirectObject):
                continue
            if isinstance(value, ArrayObject):
                stack.extend((item, key) for item in value)
            elif isinstance(value, DictionaryObject):
                self.check_dictionary(value, key)
                if key == "/Annots":
                    self._check_new_annotation(value)
                signature_field = value.get("/FT") == "/Sig"
                stack.extend(
                    (item, name)
                    for name, item in value.items()
                    if not _is_signature_value(name, signature_field)
                )

    def _check_new_annotation(self, annotation: DictionaryObject) -> None:
        """Check an annotation the update adds; its page is looked up only for a fault."""
        mark = len(self.violations)
        self.check_annotation(0, annotation)
        if len(self.violations) > mark:
            del self.violations[mark:]
            self.check_annotation(self._page_number(annotation), annotation)

    def _page_number(self, annotation: DictionaryObject) -> int:
        """The number of the page whose ``/Annots`` holds ``annotation`` (0 when none does)."""
        assert self.reader is not None
        for number, page in enumerate(self.reader.pages, start=1):
            annotations = resolve(page.get("/Annots"))
            for item in annotations if isinstance(annotations, ArrayObject) else []:
                if resolve(item) is annotation:
                    return number
        return 0

    def check_fonts(self, fonts: DictionaryObject) -> None:
        super().check_fonts(self._new_entries(fonts))

    def check_ext_gstates(self, states: DictionaryObject) -> None:
        super().check_ext_gstates(self._new_entries(states))

    def _new_entries(self, entries: DictionaryObject) -> DictionaryObject:
        """``entries`` without those that refer to objects of the base (checked with it)."""
        kept = DictionaryObject()
        for name, value in entries.items():
            if self._is_new(value):
                kept[name] = value
        return kept


def _update_objects(reader: PdfReader, base_length: int) -> set[Ref]:
    """The objects whose current version the revisions after ``base_length`` wrote."""
    new: set[Ref] = set()
    in_streams = reader.xref_objStm
    for generation, table in reader.xref.items():
        freed = reader.xref_free_entry.get(generation, {})
        for idnum, offset in table.items():
            if idnum in in_streams and generation == 0:
                continue  # pypdf reads it from its object stream
            if isinstance(offset, int) and offset >= base_length and not freed.get(idnum):
                new.add((idnum, generation))
    stream_offsets = reader.xref.get(0, {})
    for idnum, (stream, _index) in in_streams.items():
        offset = stream_offsets.get(stream)
        if isinstance(offset, int) and offset >= base_length:
            new.add((idnum, 0))
    return new


def _contexts(objects: dict[Ref, object]) -> tuple[dict[Ref, set[str]], set[Ref]]:
    """The keys under which new objects refer to each new object, and the signature values.

    An item of an array takes the array's key; an array that is an object of its own
    passes on the keys it is referred to under.
    """
    edges: list[tuple[Ref, Ref, str | None]] = []
    signature_values: set[Ref] = set()
    for ref, value in objects.items():
        for child, key, signature in _references(value):
            target = (child.idnum, child.generation)
            if signature:
                signature_values.add(target)
            elif target in objects:
                edges.append((ref, target, key))
    contexts: dict[Ref, set[str]] = {}
    changed = True
    while changed:
        changed = False
        for parent, target, key in edges:
            keys = {key} if key is not None else contexts.get(parent, set())
            known = contexts.setdefault(target, set())
            if not keys <= known:
                known |= keys
                changed = True
    return contexts, signature_values


def _references(value: object) -> Iterator[tuple[IndirectObject, str | None, bool]]:
    """Each reference ``value`` holds directly: the key it is under (None for an item of
    ``value`` itself when it is an array) and whether it leads to a signature value."""
    stack: list[tuple[Any, str | None]] = [(value, None)]
    while stack:
        item, key = stack.pop()
        if isinstance(item, IndirectObject):
            yield item, key, False
        elif isinstance(item, ArrayObject):
            stack.extend((element, key) for element in item)
        elif isinstance(item, DictionaryObject):
            signature_field = item.get("/FT") == "/Sig"
            for name, child in item.items():
                if _is_signature_value(name, signature_field):
                    if isinstance(child, IndirectObject):
                        yield child, name, True
                    continue
                stack.append((child, name))
