"""Assembling page images and their OCR text layers into one searchable PDF/A-2b file."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image
from pypdf import PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from core.files import atomic_write
from core.thumbnail import Thumbnail
from digitize.archival import add_output_intent, nfc, set_metadata, utc
from digitize.compression import JPEG_QUALITY, EncodedImage, encode_page_image
from digitize.errors import AssembleError
from digitize.ocr import PageOcr
from digitize.pages import PageImage
from digitize.textlayer import (
    FONT_NAME,
    GLYPHLESS_ADVANCE,
    PageLayout,
    cid_to_gid_map,
    glyphless_font_program,
    pdf_number,
    read_layout,
    text_layer_stream,
    to_unicode_cmap,
)

__all__ = ["JPEG_QUALITY", "DossierMetadata", "assemble_pdf"]

_PAGE_ERRORS: tuple[type[Exception], ...] = (
    PyPdfError,
    OSError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    Image.DecompressionBombError,
)
"""What reading a page image or text layer, or building its page, may raise."""


@dataclass(frozen=True)
class DossierMetadata:
    code: str
    """Dossier code (mã hồ sơ) as issued by the one-stop system; Info /Keywords."""

    office: str
    """Name of the receiving office; Info /Author and dc:creator."""

    procedure: str
    """Name of the administrative procedure (thủ tục hành chính); Info /Subject."""

    applicant: str
    """Name of the citizen or business applying; kept in XMP only."""

    received_at: datetime | None = None
    """When the dossier was received (a naive value is taken as UTC)."""

    due_at: datetime | None = None
    """When the result is due by law (a naive value is taken as UTC)."""

    title: str = ""
    """Document title; ``"Hồ sơ <code>"`` when empty."""


def assemble_pdf(
    pages: Sequence[tuple[PageImage, PageOcr]],
    out: Path,
    metadata: DossierMetadata | None = None,
    *,
    parts: Sequence[tuple[str, int]] | None = None,
    identity: tuple[str, datetime] | None = None,
) -> None:
    """Write one searchable PDF/A-2b file from page images and their OCR text layers.

    ``identity`` (a stable name for the document and its creation time) makes the
    output reproducible: assembling the same pages again gives the same bytes, so a
    retried assembly lands on the same content-addressed file. Without it the
    file gets a fresh identifier and the current time.

    Each page is its scan sized from its resolution, with Tesseract's invisible
    text laid on top as a form XObject scaled to the same box. Grey pages that are
    plain text on paper are stored as 1-bit CCITT G4 at full resolution, other
    grey and colour pages as JPEG (colour only when the page has some). ``parts``
    are bookmarks, (title, index of the part's first page); none by default. The
    document gets matching Info and XMP metadata (dossier fields under the
    ``motcua`` namespace), an sRGB OutputIntent and a file identifier. The file
    is written under a temporary name beside ``out`` and renamed over it. Raises
    :class:`AssembleError` when a page or text layer cannot be read or a part
    points at no page.

    Each page also gets its thumbnail (``/Thumb``, :mod:`core.thumbnail`): its picture
    reduced to 300 pixels wide or more and cut to 1 bit at the ink level, a few KB, which
    stamp placement reads instead of decoding the scan.
    """
    if not pages:
        raise AssembleError("Không có trang nào để ghép thành tệp PDF")
    outline = _outline(parts or (), len(pages))
    writer = PdfWriter()
    workers = max(1, min(len(pages), os.cpu_count() or 1, 4))
    # Pillow decodes and encodes without the GIL, so pages compress in parallel.
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assemble")
    try:
        encoded = [pool.submit(encode_page_image, page) for page, _ in pages]
        font = _glyphless_font(writer)
        for number, ((page, ocr), image) in enumerate(zip(pages, encoded, strict=True), start=1):
            _add_page(writer, number, page, ocr, image, font)
    finally:
        pool.shutdown(cancel_futures=True)
    for title, index in outline:
        writer.add_outline_item(title=title, page_number=index)
    if outline:
        writer.page_mode = "/UseOutlines"
    if identity is None:
        document_uuid = uuid.uuid4()
        now = datetime.now(UTC).replace(microsecond=0)
    else:
        document_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"motcua:document:{identity[0]}")
        now = utc(identity[1]).replace(microsecond=0)
    set_metadata(writer, metadata, now, document_uuid)
    add_output_intent(writer)
    writer.compress_identical_objects()
    writer.pdf_header = "%PDF-1.7"
    file_id = ByteStringObject(document_uuid.bytes)
    writer._ID = ArrayObject((file_id, file_id))
    _write_atomically(writer, out)


def _outline(parts: Sequence[tuple[str, int]], count: int) -> list[tuple[str, int]]:
    """Bookmark titles (NFC; a default for a blank one) and page indexes checked against ``count``.

    Raises :class:`AssembleError` when a part points at no page.
    """
    outline: list[tuple[str, int]] = []
    for number, (title, index) in enumerate(parts, start=1):
        if not 0 <= index < count:
            raise AssembleError(
                f"Mục lục '{nfc(title)}' trỏ tới trang {index + 1}, "
                f"nhưng tài liệu chỉ có {count} trang"
            )
        outline.append((" ".join(nfc(title).split()) or f"Phần {number}", index))
    return outline


def _add_page(
    writer: PdfWriter,
    number: int,
    page: PageImage,
    ocr: PageOcr,
    encoded: Future[EncodedImage],
    font: IndirectObject,
) -> None:
    """Add one page: its image filling the page and its text layer over it."""
    try:
        image = encoded.result()
        layout = read_layout(ocr.layout)
        width = image.width / page.dpi * 72
        height = image.height / page.dpi * 72
        if layout.width <= 0 or layout.height <= 0 or layout.dpi <= 0:
            raise ValueError("text layer has an empty page")
        # The layout is in points of the image it was recognised on: the kept image
        # itself, so the scale is 1 unless the two disagree.
        sx = width / (layout.width / layout.dpi * 72)
        sy = height / (layout.height / layout.dpi * 72)
        pdf_page = writer.add_blank_page(width, height)
        drawing = (
            f"q {pdf_number(width, 4)} 0 0 {pdf_number(height, 4)} 0 0 cm /Im0 Do Q\n"
            f"q {pdf_number(sx, 4)} 0 0 {pdf_number(sy, 4)} 0 0 cm /Ocr0 Do Q\n"
        )
        content = StreamObject()
        content.set_data(drawing.encode("ascii"))
        text = _text_form(layout, font)
        pdf_page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/XObject"): DictionaryObject(
                    {
                        NameObject("/Im0"): writer._add_object(_image_xobject(image)),
                        NameObject("/Ocr0"): writer._add_object(text),
                    }
                )
            }
        )
        pdf_page[NameObject("/Contents")] = writer._add_object(content.flate_encode())
        if image.thumbnail is not None:
            pdf_page[NameObject("/Thumb")] = writer._add_object(_thumbnail(image.thumbnail))
    except _PAGE_ERRORS as exc:
        raise AssembleError(
            f"Không ghép được trang {number} vào tệp PDF", detail=type(exc).__name__
        ) from None


def _image_xobject(image: EncodedImage) -> StreamObject:
    """The image XObject holding the compressed samples as they are."""
    bilevel = image.filter == "/CCITTFaxDecode"
    stream = _image_stream(
        image.width, image.height, image.colour_space, 1 if bilevel else 8, image.filter
    )
    if bilevel:
        stream[NameObject("/DecodeParms")] = DictionaryObject(
            {
                NameObject("/K"): NumberObject(-1),
                NameObject("/Columns"): NumberObject(image.width),
                NameObject("/Rows"): NumberObject(image.height),
                NameObject("/BlackIs1"): BooleanObject(image.black_is_1),
            }
        )
    stream.set_data(image.data)
    return stream


def _thumbnail(thumbnail: Thumbnail) -> StreamObject:
    """The page's thumbnail image (ISO 32000 §12.3.4): 1-bit grey, its samples as they are."""
    stream = _image_stream(thumbnail.width, thumbnail.height, "/DeviceGray", 1, "/FlateDecode")
    stream.set_data(thumbnail.data)
    return stream


def _image_stream(
    width: int, height: int, colour_space: str, bits: int, filter_name: str
) -> StreamObject:
    """An image XObject's dictionary, its samples still to be set."""
    stream = StreamObject()
    stream.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(width),
            NameObject("/Height"): NumberObject(height),
            NameObject("/ColorSpace"): NameObject(colour_space),
            NameObject("/BitsPerComponent"): NumberObject(bits),
            NameObject("/Filter"): NameObject(filter_name),
        }
    )
    return stream


def _text_form(layout: PageLayout, font: IndirectObject) -> StreamObject:
    """The page's invisible words as a form XObject the size of the page, in points."""
    width = layout.width / layout.dpi * 72
    height = layout.height / layout.dpi * 72
    form = StreamObject()
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(
                FloatObject(v) for v in (0, 0, round(width, 4), round(height, 4))
            ),
            NameObject("/Resources"): DictionaryObject(
                {NameObject("/Font"): DictionaryObject({NameObject("/F0"): font})}
            ),
        }
    )
    form.set_data(text_layer_stream(layout, "/F0"))
    return form.flate_encode()


def _glyphless_font(writer: PdfWriter) -> IndirectObject:
    """Add the glyphless Type 0 font the text layers of every page share, once a document."""
    program = StreamObject()
    program.set_data(glyphless_font_program())
    program = program.flate_encode()
    program[NameObject("/Length1")] = NumberObject(len(glyphless_font_program()))
    descriptor = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): NameObject(f"/{FONT_NAME}"),
            NameObject("/Flags"): NumberObject(5),  # fixed pitch, symbolic
            NameObject("/FontBBox"): ArrayObject(
                NumberObject(v) for v in (0, 0, GLYPHLESS_ADVANCE, 1000)
            ),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): NumberObject(1000),
            NameObject("/Descent"): NumberObject(0),
            NameObject("/CapHeight"): NumberObject(1000),
            NameObject("/StemV"): NumberObject(80),
            NameObject("/FontFile2"): writer._add_object(program),
        }
    )
    gid_map = StreamObject()
    gid_map.set_data(cid_to_gid_map())
    descendant = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType2"),
            NameObject("/BaseFont"): NameObject(f"/{FONT_NAME}"),
            NameObject("/CIDSystemInfo"): DictionaryObject(
                {
                    NameObject("/Registry"): TextStringObject("Adobe"),
                    NameObject("/Ordering"): TextStringObject("Identity"),
                    NameObject("/Supplement"): NumberObject(0),
                }
            ),
            NameObject("/FontDescriptor"): writer._add_object(descriptor),
            NameObject("/DW"): NumberObject(GLYPHLESS_ADVANCE),
            NameObject("/CIDToGIDMap"): writer._add_object(gid_map.flate_encode()),
        }
    )
    to_unicode = StreamObject()
    to_unicode.set_data(to_unicode_cmap())
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type0"),
            NameObject("/BaseFont"): NameObject(f"/{FONT_NAME}"),
            NameObject("/Encoding"): NameObject("/Identity-H"),
            NameObject("/DescendantFonts"): ArrayObject([writer._add_object(descendant)]),
            NameObject("/ToUnicode"): writer._add_object(to_unicode.flate_encode()),
        }
    )
    return writer._add_object(font)


def _write_atomically(writer: PdfWriter, out: Path) -> None:
    """Write the PDF atomically and durably (see :mod:`core.files`)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(out) as handle:
            writer.write(handle)
    except OSError as exc:
        raise AssembleError(
            "Không ghi được tệp PDF kết quả", disposition="retry", detail=exc.strerror or ""
        ) from None
