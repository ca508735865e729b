"""A throwaway PKI, small unsigned PDFs and tampering helpers for the signing tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ContentStream, DictionaryObject, StreamObject
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from signing.devpki import CA_KEY_FILE, IssuedKey, make_dev_pki
from signing.stamp.text import DEFAULT_FONT

__all__ = [
    "TEST_OFFICE",
    "TEST_PASSPHRASE",
    "TEST_SIGNED_AT",
    "TEST_SIGNER",
    "StampView",
    "append_text_update",
    "issue_signer_certificate",
    "issue_test_signer",
    "make_test_pdf",
    "make_test_pki",
    "read_stamps",
]

TEST_PASSPHRASE = b"mat-khau-thu-nghiem-2026"
"""Passphrase of every test PKCS#12 file and test CA key."""

TEST_SIGNER = "Nguyễn Văn An"
"""Common name of the test signer certificate."""

TEST_OFFICE = "UBND xã Thử Nghiệm"
"""Organisation of the test certificates."""

TEST_SIGNED_AT = dt.datetime(2026, 11, 22, 7, 5, 3, tzinfo=dt.UTC)
"""An injected signing time: 22/11/2026 14:05:03 in Vietnam."""


def make_test_pki(tmp: Path, name: str = TEST_SIGNER, org: str = TEST_OFFICE) -> IssuedKey:
    """Create a development CA and signer key under ``tmp`` protected by TEST_PASSPHRASE."""
    return make_dev_pki(tmp, signer_name=name, organisation=org, passphrase=TEST_PASSPHRASE)


def issue_signer_certificate(
    pki: IssuedKey,
    *,
    name: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    digital_signature: bool = True,
    non_repudiation: bool = True,
) -> tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Issue from ``pki``'s CA a signer certificate for ``key`` and return both.

    Without ``key`` a new ECDSA P-256 key is made (milliseconds, unlike RSA).
    Without either signing key usage the certificate allows only key encipherment
    (RSA) or key agreement (EC) instead.
    """
    now = dt.datetime.now(dt.UTC)
    ca_cert, ca_key = _test_ca(pki)
    if key is None:
        key = ec.generate_private_key(ec.SECP256R1())
    signs = digital_signature or non_repudiation
    is_ec = isinstance(key, ec.EllipticCurvePrivateKey)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_OFFICE),
                    x509.NameAttribute(NameOID.COMMON_NAME, name),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=digital_signature,
                content_commitment=non_repudiation,
                key_encipherment=not signs and not is_ec,
                data_encipherment=False,
                key_agreement=not signs and is_ec,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


@functools.cache
def _test_ca(pki: IssuedKey) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """The CA of ``pki``, read once: its encrypted key takes half a second to open."""
    ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(
        (pki.ca_cert.parent / CA_KEY_FILE).read_bytes(), password=TEST_PASSPHRASE
    )
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    return ca_cert, ca_key


def issue_test_signer(
    pki: IssuedKey,
    dest: Path,
    *,
    name: str = TEST_SIGNER,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    digital_signature: bool = True,
    non_repudiation: bool = True,
) -> Path:
    """Issue from ``pki``'s CA an RSA signer certificate with chosen validity and key usage.

    Returns the path of a PKCS#12 file (passphrase TEST_PASSPHRASE) in ``dest``;
    used to make expired or wrongly purposed certificates.
    """
    key, cert = issue_signer_certificate(
        pki,
        name=name,
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        not_before=not_before,
        not_after=not_after,
        digital_signature=digital_signature,
        non_repudiation=non_repudiation,
    )
    ca_cert, _ = _test_ca(pki)
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"signer-{cert.serial_number:x}.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            name=name.encode(),
            key=key,
            cert=cert,
            cas=[ca_cert],
            encryption_algorithm=serialization.BestAvailableEncryption(TEST_PASSPHRASE),
        )
    )
    return path


def make_test_pdf(pages: int = 2, title: str = "QUYẾT ĐỊNH cấp giấy phép thử nghiệm") -> bytes:
    """Return a small unsigned A4 PDF with Vietnamese text, rewritten by pypdf like our output."""
    if "LiberationSerif" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("LiberationSerif", str(DEFAULT_FONT)))
    raw = io.BytesIO()
    drawing = canvas.Canvas(raw, pagesize=A4, invariant=True)
    for number in range(1, pages + 1):
        drawing.setFont("LiberationSerif", 14)
        drawing.drawString(72, 770, title)
        drawing.setFont("LiberationSerif", 11)
        drawing.drawString(72, 740, f"Trang {number}/{pages} — hồ sơ số 000.00.00.H00-261122-0001")
        drawing.showPage()
    drawing.save()
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(raw.getvalue())))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def append_text_update(pdf: bytes, text: str = "SỬA ĐỔI TRÁI PHÉP", page: int = 0) -> bytes:
    """Return ``pdf`` with ``text`` drawn on ``page`` in an incremental update, as a forger would.

    The original bytes are kept as they are (pypdf's incremental mode), so a
    signature over them stays intact and only the later update changes the page.
    """
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    overlay = PdfReader(io.BytesIO(make_test_pdf(pages=1, title=text))).pages[0]
    writer.pages[page].merge_page(overlay)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass(frozen=True)
class StampView:
    """What a reader finds in a signature widget's appearance stream."""

    field: str
    """Signature field name (/T)."""

    page: int
    """Zero-based index of the page whose /Annots holds the widget."""

    rect: tuple[float, float, float, float]
    """Widget rectangle (x0, y0, x1, y1) in points."""

    text: str
    """Text shown, decoded glyph by glyph through the font's ToUnicode CMap, lines joined by \\n."""

    font_subtype: str
    """Subtype of the descendant font (/CIDFontType2 for embedded TrueType)."""

    font_embedded: bool
    """The font descriptor carries the font program (/FontFile2)."""

    base_font: str = ""
    """/BaseFont of the Type0 font, with its subset tag."""

    cid_to_gid: str = ""
    """/CIDToGIDMap of the descendant font (/Identity for ours)."""

    widths: Mapping[int, float] = dataclasses.field(default_factory=dict)
    """The descendant font's /W widths by CID."""

    shown: tuple[int, ...] = ()
    """CIDs of every glyph the appearance shows, in order."""

    program: bytes = b""
    """The embedded TrueType program (/FontFile2, decoded); empty when not embedded."""

    program_length: int = 0
    """/Length1 of the font program stream."""


def read_stamps(pdf: bytes) -> list[StampView]:
    """Return every signature widget with a visible appearance, decoded from ``pdf``."""
    reader = PdfReader(io.BytesIO(pdf))
    views: list[StampView] = []
    for index, page in enumerate(reader.pages):
        annots = page.get("/Annots")
        if annots is None:
            continue
        for ref in cast(ArrayObject, annots.get_object()):
            annot = cast(DictionaryObject, ref.get_object())
            if annot.get("/FT") != "/Sig" or "/AP" not in annot:
                continue
            rect = tuple(float(v) for v in cast(ArrayObject, annot["/Rect"]))
            if rect[2] - rect[0] <= 0:
                continue
            normal = cast(StreamObject, cast(DictionaryObject, annot["/AP"])["/N"].get_object())
            fonts = cast(DictionaryObject, cast(DictionaryObject, normal["/Resources"])["/Font"])
            font = cast(DictionaryObject, next(iter(fonts.values())).get_object())
            descendant = cast(
                DictionaryObject, cast(ArrayObject, font["/DescendantFonts"])[0].get_object()
            )
            descriptor = cast(DictionaryObject, descendant["/FontDescriptor"].get_object())
            cmap = _parse_to_unicode(cast(StreamObject, font["/ToUnicode"].get_object()).get_data())
            file2 = descriptor.get("/FontFile2")
            program = cast(StreamObject, file2.get_object()) if file2 is not None else None
            content = ContentStream(normal, reader)
            views.append(
                StampView(
                    field=str(annot["/T"]),
                    page=index,
                    rect=(rect[0], rect[1], rect[2], rect[3]),
                    text=_decode_text(content, cmap),
                    font_subtype=str(descendant["/Subtype"]),
                    font_embedded=program is not None,
                    base_font=str(font["/BaseFont"]),
                    cid_to_gid=str(descendant.get("/CIDToGIDMap", "")),
                    widths=_widths(cast(ArrayObject, descendant.get("/W", ArrayObject()))),
                    shown=tuple(_shown_cids(content)),
                    program=program.get_data() if program is not None else b"",
                    program_length=int(cast(int, program.get("/Length1", 0))) if program else 0,
                )
            )
    return views


def _parse_to_unicode(data: bytes) -> dict[int, str]:
    text = data.decode("latin-1")
    mapping: dict[int, str] = {}

    def utf16(hex_text: str) -> str:
        return bytes.fromhex(hex_text).decode("utf-16-be")

    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            mapping[int(src, 16)] = utf16(dst)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(
            r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(\[[^\]]*\]|<[0-9a-fA-F]+>)", block
        ):
            start, end = int(lo, 16), int(hi, 16)
            if dst.startswith("["):
                for offset, item in enumerate(re.findall(r"<([0-9a-fA-F]+)>", dst)):
                    mapping[start + offset] = utf16(item)
            else:
                first = int(dst[1:-1], 16)
                for offset in range(end - start + 1):
                    mapping[start + offset] = chr(first + offset)
    return mapping


def _widths(entries: ArrayObject) -> dict[int, float]:
    """Widths by CID from a /W array of ``first [w1 w2 …]`` runs (the form we write)."""
    widths: dict[int, float] = {}
    items = list(entries)
    for first, run in zip(items[::2], items[1::2], strict=True):
        for offset, width in enumerate(cast(ArrayObject, run)):
            widths[int(cast(int, first)) + offset] = float(cast(float, width))
    return widths


def _shown_cids(content: ContentStream) -> list[int]:
    """Two-byte CIDs of every string a Tj or TJ operator shows."""
    cids: list[int] = []
    for operands, operator in content.operations:
        if operator not in (b"TJ", b"Tj"):
            continue
        for item in operands[0] if operator == b"TJ" else operands:
            raw = getattr(item, "original_bytes", item)
            if isinstance(raw, bytes):
                cids += [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw) - 1, 2)]
    return cids


def _decode_text(content: ContentStream, cmap: dict[int, str]) -> str:
    lines: list[str] = []
    current: list[str] = []

    def show(value: object) -> None:
        raw = getattr(value, "original_bytes", value)
        if isinstance(raw, bytes):
            for i in range(0, len(raw) - 1, 2):
                current.append(cmap.get(int.from_bytes(raw[i : i + 2], "big"), "\ufffd"))

    for operands, operator in content.operations:
        if operator == b"TJ":
            for item in operands[0]:
                show(item)
        elif operator == b"Tj":
            show(operands[0])
        elif operator == b"EMC" and current:
            lines.append("".join(current))
            current = []
    if current:
        lines.append("".join(current))
    return "\n".join(lines)
