"""Tests of the Decree 30/2020 stamp layouts: personal, certified copy, QR, placement."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
import segno
from PIL import Image, ImageDraw
from pyhanko.sign.signers import SimpleSigner
from pypdf import PdfReader
from pypdf.generic import ArrayObject, ContentStream, DictionaryObject, StreamObject

from signing.errors import StampError
from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.stamp.place import LAYOUT_PLACEMENTS, StampPlacement, placement_in_pdf
from signing.stamp.text import CERTIFIED_COPY_TYPE, Layout, StampText
from signing.verify.check import verify_pdf
from tests.support.pki import TEST_OFFICE, TEST_SIGNED_AT, TEST_SIGNER, read_stamps

VERIFY_URL = "https://motcua.example.vn/kiem-tra/"
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True)
class Images:
    signature: Path
    seal: Path


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    """A blue handwritten-like signature and a red round seal, both PNG with transparency."""
    folder = tmp_path_factory.mktemp("stamp-images")
    signature = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
    pen = ImageDraw.Draw(signature)
    pen.line(
        [(10, 120), (120, 30), (220, 130), (330, 40), (470, 100)], fill=(0, 0, 150, 255), width=9
    )
    seal = Image.new("RGBA", (360, 360), (0, 0, 0, 0))
    pen = ImageDraw.Draw(seal)
    pen.ellipse([8, 8, 352, 352], outline=(200, 0, 0, 255), width=14)
    pen.ellipse([70, 70, 290, 290], outline=(200, 0, 0, 255), width=6)
    found = Images(signature=folder / "chu-ky.png", seal=folder / "con-dau.png")
    signature.save(found.signature)
    seal.save(found.seal)
    return found


def image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def stamp_for(layout: Layout, images: Images, **changes: object) -> StampText:
    values: dict[str, object] = {
        "signer_name": TEST_SIGNER,
        "office_name": TEST_OFFICE,
        "signed_at": TEST_SIGNED_AT,
        "layout": layout,
        "signature_image": images.signature,
        "seal_image": images.seal,
    }
    values.update(changes)
    return StampText(**values)  # type: ignore[arg-type]


def sign_with(pdf: bytes, signer: SimpleSigner, stamp: StampText) -> bytes:
    page, box = placement_in_pdf(stamp, pdf)
    return sign_pdf(pdf, signer, SignOptions(stamp=stamp, page=page, box=box))


@dataclass
class Drawn:
    """What the stamp's appearance stream draws, in appearance coordinates."""

    xobjects: list[tuple[str, Matrix, StreamObject]] = field(default_factory=list)
    texts: list[tuple[float, tuple[float, ...]]] = field(default_factory=list)
    """(effective font size in points, fill colour) of every text-showing operator."""

    fonts: list[float] = field(default_factory=list)
    """Sizes given to ``Tf``."""


def _multiply(m: Matrix, ctm: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    A, B, C, D, E, F = ctm
    return (
        a * A + b * C,
        a * B + b * D,
        c * A + d * C,
        c * B + d * D,
        e * A + f * C + E,
        e * B + f * D + F,
    )


def appearance(pdf: bytes) -> tuple[int, tuple[float, ...], StreamObject, PdfReader]:
    reader = PdfReader(io.BytesIO(pdf))
    for index, page in enumerate(reader.pages):
        for ref in cast(ArrayObject, page.get("/Annots") or ArrayObject()):
            annot = cast(DictionaryObject, ref.get_object())
            if annot.get("/FT") == "/Sig" and "/AP" in annot:
                rect = tuple(float(v) for v in cast(ArrayObject, annot["/Rect"]))
                normal = cast(DictionaryObject, annot["/AP"])["/N"].get_object()
                return index, rect, cast(StreamObject, normal), reader
    raise AssertionError("no visible signature")


def drawn(pdf: bytes) -> Drawn:
    _, _, normal, reader = appearance(pdf)
    resources = cast(DictionaryObject, normal["/Resources"])
    xobjects = cast(DictionaryObject, resources.get("/XObject") or DictionaryObject())
    result = Drawn()
    ctm, stack = IDENTITY, []
    fill: tuple[float, ...] = (0.0,)
    size = 0.0
    for operands, operator in ContentStream(normal, reader).operations:
        if operator == b"q":
            stack.append((ctm, fill))
        elif operator == b"Q":
            ctm, fill = stack.pop()
        elif operator == b"cm":
            ctm = _multiply(cast(Matrix, tuple(float(v) for v in operands)), ctm)
        elif operator in (b"rg", b"g"):
            fill = tuple(float(v) for v in operands)
        elif operator == b"Tf":
            size = float(operands[1])
            result.fonts.append(size)
        elif operator in (b"TJ", b"Tj"):
            scale = math.sqrt(abs(ctm[0] * ctm[3] - ctm[1] * ctm[2]))
            result.texts.append((size * scale, fill))
        elif operator == b"Do":
            name = str(operands[0])
            result.xobjects.append((name, ctm, cast(StreamObject, xobjects[name].get_object())))
    return result


def unit_box(ctm: Matrix) -> tuple[float, float, float, float]:
    """Where the unit square (an image XObject) lands under ``ctm``."""
    x0, y0 = ctm[4], ctm[5]
    return (x0, y0, x0 + ctm[0], y0 + ctm[3])


def qr_modules(xobject: StreamObject, border: int) -> list[list[bool]]:
    """Rebuild the module matrix from the squares the QR XObject fills."""
    size = round(float(cast(ArrayObject, xobject["/BBox"])[2]))
    n = size - 2 * border
    grid = [[False] * n for _ in range(n)]
    dark = xobject.get_data().split(b"0 g", 1)[1]
    for x, y, w in re.findall(rb"(\d+) (\d+) (\d+) 1 re", dark):
        row = size - border - 1 - int(y)
        for col in range(int(x) - border, int(x) - border + int(w)):
            grid[row][col] = True
    return grid


@pytest.mark.parametrize("layout", ["text", "personal", "certified_copy"])
def test_each_layout_signs_validly_with_its_vietnamese_text(
    layout: Layout,
    images: Images,
    unsigned_pdf: bytes,
    signer: SimpleSigner,
    trust: list[Path],
) -> None:
    """Every layout gives a trusted signature whose stamp carries real Vietnamese text."""
    signed = sign_with(unsigned_pdf, signer, stamp_for(layout, images, verify_url=VERIFY_URL))

    assert verify_pdf(signed, trust).ok
    (view,) = read_stamps(signed)
    assert view.font_subtype == "/CIDFontType2" and view.font_embedded
    expected = {
        "text": ["Ký bởi: Nguyễn Văn An", "Cơ quan: UBND xã Thử Nghiệm"],
        "personal": ["Ký bởi: Nguyễn Văn An", "Cơ quan: UBND xã Thử Nghiệm"],
        "certified_copy": [CERTIFIED_COPY_TYPE, "UBND xã Thử Nghiệm"],
    }[layout]
    lines = view.text.split("\n")
    assert lines[: len(expected)] == expected


def test_certified_copy_is_black_10pt_text_at_the_top_right_of_page_one(
    images: Images, unsigned_pdf: bytes, signer: SimpleSigner
) -> None:
    """A certified copy's stamp is text only, top right of page 1, 10 pt black, ISO 8601 +07:00."""
    signed = sign_with(unsigned_pdf, signer, stamp_for("certified_copy", images))

    (view,) = read_stamps(signed)
    page_box = PdfReader(io.BytesIO(signed)).pages[0].mediabox
    width, height = float(page_box.width), float(page_box.height)
    x0, y0, x1, y1 = view.rect
    assert view.page == 0
    assert x0 > width / 2 and y0 > height * 3 / 4
    assert width - x1 < 40 and height - y1 < 40
    found = re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", view.text)
    assert found is not None
    moment = dt.datetime.fromisoformat(found.group())
    assert moment.utcoffset() == dt.timedelta(hours=7)
    assert moment == TEST_SIGNED_AT
    shown = drawn(signed)
    assert shown.xobjects == []
    assert shown.fonts and set(shown.fonts) == {10.0}
    assert shown.texts and all(
        math.isclose(size, 10.0) and color == (0.0, 0.0, 0.0) for size, color in shown.texts
    )


def test_personal_layout_puts_the_seal_over_the_signatures_left_third(
    images: Images, unsigned_pdf: bytes, signer: SimpleSigner
) -> None:
    """The personal stamp shows both images, the seal drawn over the signature's left third."""
    signed = sign_with(unsigned_pdf, signer, stamp_for("personal", images))

    shown = drawn(signed)
    kinds = [(name, str(xobject["/Subtype"])) for name, _, xobject in shown.xobjects]
    # the signature first, the seal drawn over it
    assert kinds == [("/ImgSignature", "/Image"), ("/ImgSeal", "/Image")]
    (sig_ctm, sig_obj), (seal_ctm, seal_obj) = [(ctm, obj) for _, ctm, obj in shown.xobjects]
    assert (sig_obj["/Width"], sig_obj["/Height"]) == cast(object, image_size(images.signature))
    assert (seal_obj["/Width"], seal_obj["/Height"]) == cast(object, image_size(images.seal))
    assert "/SMask" in sig_obj and "/SMask" in seal_obj  # transparent backgrounds kept
    sx0, sy0, sx1, sy1 = unit_box(sig_ctm)
    cx0, cy0, cx1, cy1 = unit_box(seal_ctm)
    left_third = sx0 + (sx1 - sx0) / 3
    # the seal covers the left third and reaches no further than about that third
    assert cx0 <= sx0 and math.isclose(cx1, left_third, abs_tol=1.0)
    assert cy0 < sy1 and sy0 < cy1
    text = read_stamps(signed)[0].text
    assert "Ký bởi: Nguyễn Văn An" in text and "+07:00" in text
    # the text sits beside the images, not under them
    _, rect, _, _ = appearance(signed)
    assert rect[2] - rect[0] > cx1 - cx0 + sx1 - sx0


@pytest.mark.parametrize("layout", ["text", "personal", "certified_copy"])
def test_qr_code_encodes_the_verification_address(
    layout: Layout, images: Images, unsigned_pdf: bytes, signer: SimpleSigner, tmp_path: Path
) -> None:
    """The QR XObject holds segno's modules for the URL, and they render as drawn."""
    signed = sign_with(unsigned_pdf, signer, stamp_for(layout, images, verify_url=VERIFY_URL))

    expected = [[bool(m) for m in row] for row in segno.make_qr(VERIFY_URL, error="m").matrix]
    shown = drawn(signed)
    (qr,) = [(ctm, obj) for name, ctm, obj in shown.xobjects if name == "/QR"]
    ctm, xobject = qr
    size = round(float(cast(ArrayObject, xobject["/BBox"])[2]))
    border = (size - len(expected)) // 2
    assert qr_modules(xobject, border) == expected

    # render the page and read the modules back from the pixels
    page, rect, _, _ = appearance(signed)
    module = ctm[0]
    origin_x, origin_y = rect[0] + ctm[4], rect[1] + ctm[5]
    pdf_path = tmp_path / "signed.pdf"
    pdf_path.write_bytes(signed)
    dpi = 288
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-f",
            str(page + 1),
            "-l",
            str(page + 1),
            "-singlefile",
            str(pdf_path),
            str(tmp_path / "page"),
        ],
        check=True,
        timeout=60,
    )
    with Image.open(tmp_path / "page.png") as rendered:
        pixels = rendered.convert("L")
        height_px = pixels.height
        read: list[list[bool]] = []
        for row in range(len(expected)):
            line = []
            for col in range(len(expected)):
                x_pt = origin_x + (border + col + 0.5) * module
                y_pt = origin_y + (size - border - row - 0.5) * module
                value = pixels.getpixel(
                    (round(x_pt * dpi / 72), height_px - round(y_pt * dpi / 72))
                )
                line.append(cast(int, value) < 128)
            read.append(line)
    assert read == expected


def test_no_qr_without_a_verification_address(
    images: Images, unsigned_pdf: bytes, signer: SimpleSigner
) -> None:
    """Without verify_url the stamp draws no QR code."""
    signed = sign_with(unsigned_pdf, signer, stamp_for("certified_copy", images))
    assert all(name != "/QR" for name, _, _ in drawn(signed).xobjects)


def test_stamp_text_stays_inside_its_box_when_rendered(
    images: Images, unsigned_pdf: bytes, signer: SimpleSigner, tmp_path: Path
) -> None:
    """Poppler places every word of a long text stamp inside the stamp's rectangle."""
    office = "Ủy ban nhân dân xã Thử Nghiệm, huyện Đông Anh, thành phố Hà Nội"
    layouts: tuple[Layout, ...] = ("text", "certified_copy")
    for layout in layouts:
        stamp = stamp_for(layout, images, office_name=office)
        signed = sign_with(unsigned_pdf, signer, stamp)
        page, rect, _, _ = appearance(signed)
        path = tmp_path / f"{layout}.pdf"
        path.write_bytes(signed)
        html = subprocess.run(
            ["pdftotext", "-bbox", "-f", str(page + 1), "-l", str(page + 1), str(path), "-"],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout.decode()
        height = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', html).group(1))  # type: ignore[union-attr]
        words = re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            html,
        )
        inside = [
            w
            for w in words
            if rect[0] - 1 <= float(w[0])
            and float(w[2]) <= rect[2] + 1
            and rect[1] - 1 <= height - float(w[3])
            and height - float(w[1]) <= rect[3] + 1
        ]
        shown = " ".join(w[4] for w in inside)
        assert "Đông Anh" in shown and "Hà Nội" in shown, (layout, shown)
        assert "Thời gian" in shown


def test_placement_is_configurable_per_stamp(
    images: Images, unsigned_pdf: bytes, signer: SimpleSigner
) -> None:
    """An explicit placement puts the stamp on the chosen page and rectangle."""
    box = (72.0, 72.0, 322.0, 128.0)
    stamp = stamp_for("certified_copy", images, placement=StampPlacement(page=-1, box=box))
    (view,) = read_stamps(sign_with(unsigned_pdf, signer, stamp))
    assert view.page == 1
    assert view.rect == box


def test_corners_and_defaults_follow_the_page() -> None:
    """Corner placements keep their margin from both edges and shrink on small pages."""
    page = (0.0, 0.0, 600.0, 800.0)
    top_left = StampPlacement(corner="top-left", width=100, height=50, margin=20).box_in(page)
    assert top_left == (20.0, 730.0, 120.0, 780.0)
    bottom_right = StampPlacement(width=100, height=50, margin=20).box_in(page)
    assert bottom_right == (480.0, 20.0, 580.0, 70.0)
    tiny = StampPlacement(width=500, height=500, margin=50).box_in((0.0, 0.0, 200.0, 100.0))
    assert tiny[2] - tiny[0] == 100.0 and tiny[3] - tiny[1] == 25.0
    assert LAYOUT_PLACEMENTS["certified_copy"].page == 0
    assert LAYOUT_PLACEMENTS["certified_copy"].corner == "top-right"
    assert LAYOUT_PLACEMENTS["personal"].page == -1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"layout": "personal", "signature_image": None}, "ảnh chữ ký"),
        ({"layout": "personal", "signature_image": Path("/khong/co/anh.png")}, "Không mở được ảnh"),
        ({"layout": "text", "verify_url": "javascript:alert(1)"}, "http"),
        ({"layout": "tron"}, "Không có kiểu"),
    ],
)
def test_bad_stamp_settings_are_stamp_errors(
    changes: dict[str, object],
    message: str,
    images: Images,
    unsigned_pdf: bytes,
    signer: SimpleSigner,
) -> None:
    """A missing image, an unsafe QR address or an unknown layout fail before signing."""
    rest = dict(changes)
    stamp = stamp_for(cast(Layout, rest.pop("layout")), images, **rest)
    with pytest.raises(StampError, match=message):
        sign_pdf(unsigned_pdf, signer, SignOptions(stamp=stamp, page=0, box=(72, 72, 372, 162)))
