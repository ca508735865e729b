"""Loading scans into normalised page images: formats, resolution, orientation, bad input."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw
from PIL.ImageFile import ImageFile
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from digitize.errors import BadInputError
from digitize.pages import PageImage, count_pages, split_pages
from tests.support.scans import render_page, write_image_pdf, write_multipage_tiff, write_scan

SHORT = "Ủy ban nhân dân xã tiếp nhận hồ sơ đăng ký khai sinh."


def _same_pixels(written: Path, expected: Image.Image) -> bool:
    with Image.open(written) as image:
        return ImageChops.difference(image.convert("L"), expected.convert("L")).getbbox() is None


def _no_temporaries(workdir: Path) -> bool:
    return not [p for p in (workdir / "pages").iterdir() if p.name.startswith(".")]


def test_png_page_keeps_grey_mode_and_recorded_dpi(tmp_path: Path) -> None:
    """A grey PNG becomes one grey PNG page with the resolution the file records."""
    write_scan(tmp_path / "scan.png", SHORT, dpi=240)
    [page] = split_pages([tmp_path / "scan.png"], tmp_path / "work")
    assert page == PageImage(
        path=tmp_path / "work" / "pages" / "0001.png", dpi=240, width=1984, height=2806, mode="L"
    )
    with Image.open(page.path) as image:
        assert image.format == "PNG"
        assert image.size == (1984, 2806)
        assert round(image.info["dpi"][0]) == 240
    assert _no_temporaries(tmp_path / "work")


def test_plain_png_page_is_kept_as_it_is_not_encoded_again(tmp_path: Path) -> None:
    """A grey or colour PNG that needs no change becomes the page as it is, byte for byte."""
    write_scan(tmp_path / "grey.png", SHORT, dpi=300)
    write_scan(tmp_path / "colour.png", SHORT, dpi=300, mode="RGB")
    pages = split_pages([tmp_path / "grey.png", tmp_path / "colour.png"], tmp_path / "work")
    for page, source in zip(pages, ("grey.png", "colour.png"), strict=True):
        assert page.path.read_bytes() == (tmp_path / source).read_bytes()
    assert _no_temporaries(tmp_path / "work")


def test_png_that_needs_changing_is_encoded_again(tmp_path: Path) -> None:
    """A PNG with a palette, an EXIF turn or unequal resolutions is rewritten, not linked."""
    _palette(tmp_path)
    turned = Image.new("L", (300, 200), 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    turned.save(tmp_path / "turned.png", exif=exif, dpi=(300, 300))
    Image.new("L", (300, 200), 255).save(tmp_path / "stretched.png", dpi=(300, 150))
    inputs = [tmp_path / "x.png", tmp_path / "turned.png", tmp_path / "stretched.png"]
    pages = split_pages(inputs, tmp_path / "work")
    for page, source in zip(pages, inputs, strict=True):
        assert page.path.read_bytes() != source.read_bytes()
    assert [(p.width, p.height) for p in pages[1:]] == [(200, 300), (300, 400)]


def test_image_without_resolution_is_taken_as_300_dpi(tmp_path: Path) -> None:
    """A PNG that records no resolution is assumed to be scanned at 300 dpi."""
    Image.new("L", (800, 600), 255).save(tmp_path / "bare.png")
    [page] = split_pages([tmp_path / "bare.png"], tmp_path / "work")
    assert page.dpi == 300


def test_colour_jpeg_stays_rgb_with_its_dpi(tmp_path: Path) -> None:
    """A colour JPEG becomes an RGB page with the JPEG's recorded resolution."""
    write_scan(tmp_path / "scan.jpg", SHORT, dpi=150, mode="RGB")
    [page] = split_pages([tmp_path / "scan.jpg"], tmp_path / "work")
    assert (page.mode, page.dpi, page.width, page.height) == ("RGB", 150, 1240, 1754)


def test_multipage_tiff_yields_every_page_in_order_as_g4(tmp_path: Path) -> None:
    """Each frame of a bilevel multi-page TIFF becomes its own G4 page, pixel-exact, in order."""
    texts = ["Trang một.", "Trang hai có nhiều chữ hơn một chút.", "Trang ba."]
    write_multipage_tiff(tmp_path / "multi.tif", texts, dpi=100, mode="1")
    pages = split_pages([tmp_path / "multi.tif"], tmp_path / "work")
    assert [p.path.name for p in pages] == ["0001.tif", "0002.tif", "0003.tif"]
    assert {(p.mode, p.dpi) for p in pages} == {("1", 100)}
    for page, text in zip(pages, texts, strict=True):
        expected, _ = render_page(text, dpi=100, mode="1")
        assert _same_pixels(page.path, expected)
        with Image.open(page.path) as image:
            assert image.info["compression"] == "group4"


def test_inputs_are_numbered_in_the_order_given(tmp_path: Path) -> None:
    """Pages from several inputs are numbered consecutively in the order the inputs are given."""
    write_scan(tmp_path / "b.png", "Trang của tệp b.", dpi=100)
    write_multipage_tiff(tmp_path / "a.tif", ["Tệp a trang 1.", "Tệp a trang 2."], dpi=100)
    pages = split_pages([tmp_path / "b.png", tmp_path / "a.tif"], tmp_path / "work")
    assert [p.path.name for p in pages] == [
        "0001.png",
        "0002.tif",
        "0003.tif",
    ]  # a PNG kept as it is
    first, _ = render_page("Trang của tệp b.", dpi=100)
    assert _same_pixels(pages[0].path, first)


def test_image_pdf_pages_take_dpi_from_image_size_and_mediabox(tmp_path: Path) -> None:
    """An image-only PDF yields one page per PDF page, its dpi computed against the MediaBox."""
    write_image_pdf(tmp_path / "scan.pdf", ["Trang một.", "Trang hai."], dpi=200, mode="1")
    pages = split_pages([tmp_path / "scan.pdf"], tmp_path / "work")
    assert [(p.dpi, p.width, p.height, p.mode) for p in pages] == [(200, 1654, 2339, "1")] * 2
    expected, _ = render_page("Trang hai.", dpi=200, mode="1")
    assert _same_pixels(pages[1].path, expected)


def test_rotated_pdf_page_is_turned_upright(tmp_path: Path) -> None:
    """A PDF page with /Rotate 90 yields the image turned the way the page is displayed."""
    write_image_pdf(tmp_path / "scan.pdf", ["Trang xoay."], dpi=100, mode="L")
    writer = PdfWriter(clone_from=tmp_path / "scan.pdf")
    writer.pages[0].rotate(90)
    writer.write(tmp_path / "rotated.pdf")
    [page] = split_pages([tmp_path / "rotated.pdf"], tmp_path / "work")
    assert (page.width, page.height, page.dpi) == (1169, 827, 100)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """A JPEG stored sideways with EXIF orientation 6 comes out upright."""
    upright = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(upright).rectangle((0, 0, 99, 99), fill=0)  # a mark in the top-left corner
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a sideways camera writes
    exif = Image.Exif()
    exif[0x0112] = 6  # display after rotating 90 degrees clockwise
    stored.save(tmp_path / "photo.jpg", exif=exif, dpi=(200, 200), quality=95)
    [page] = split_pages([tmp_path / "photo.jpg"], tmp_path / "work")
    assert (page.width, page.height) == (400, 300)
    with Image.open(page.path) as image:
        assert image.getpixel((20, 20)) == pytest.approx(0, abs=40)
        assert image.getpixel((380, 280)) == pytest.approx(255, abs=40)


def _palette(tmp_path: Path) -> Path:
    image = Image.new("P", (64, 64), 1)
    image.putpalette([255, 255, 255, 200, 30, 30])
    image.save(tmp_path / "x.png")
    return tmp_path / "x.png"


def _rgba(tmp_path: Path) -> Path:
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(tmp_path / "x.png")
    return tmp_path / "x.png"


def _la(tmp_path: Path) -> Path:
    Image.new("LA", (64, 64), (0, 0)).save(tmp_path / "x.png")
    return tmp_path / "x.png"


def _cmyk(tmp_path: Path) -> Path:
    Image.new("CMYK", (64, 64), (0, 0, 0, 0)).save(tmp_path / "x.tif")
    return tmp_path / "x.tif"


def _sixteen_bit(tmp_path: Path) -> Path:
    Image.new("I;16", (64, 64), 32768).save(tmp_path / "x.png")
    return tmp_path / "x.png"


@pytest.mark.parametrize(
    ("make", "mode", "pixel"),
    [
        (_palette, "RGB", (200, 30, 30)),
        (_rgba, "RGB", (255, 255, 255)),  # transparent becomes white paper
        (_la, "L", 255),
        (_cmyk, "RGB", (255, 255, 255)),
        (_sixteen_bit, "L", 128),  # 16-bit grey is scaled, not clipped
    ],
    ids=["P", "RGBA", "LA", "CMYK", "I;16"],
)
def test_odd_modes_become_grey_or_colour(
    tmp_path: Path, make: object, mode: str, pixel: object
) -> None:
    """Palette, alpha, CMYK and 16-bit images are converted to L or RGB keeping their look."""
    assert callable(make)
    source = make(tmp_path)
    [page] = split_pages([source], tmp_path / "work")
    assert page.mode == mode
    with Image.open(page.path) as image:
        assert image.mode == mode
        assert image.getpixel((10, 10)) == pixel


def test_unsupported_file_is_refused_naming_it_in_vietnamese(tmp_path: Path) -> None:
    """A word-processor file is refused with a Vietnamese message that names it."""
    (tmp_path / "x.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(BadInputError) as caught:
        split_pages([tmp_path / "x.doc"], tmp_path / "work")
    assert "Tệp 'x.doc' không phải ảnh quét hoặc PDF ảnh được hỗ trợ" in caught.value.message_vi
    assert caught.value.disposition == "quarantine"


def test_gif_is_refused_as_unsupported(tmp_path: Path) -> None:
    """A valid image in a format we do not take (GIF) is refused, not silently converted."""
    Image.new("L", (32, 32), 255).save(tmp_path / "anh.gif")
    with pytest.raises(BadInputError, match=re.escape("anh.gif")):
        split_pages([tmp_path / "anh.gif"], tmp_path / "work")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    """A zero-byte file is refused with a message saying it is empty."""
    (tmp_path / "trang.jpg").touch()
    with pytest.raises(BadInputError, match=re.escape("'trang.jpg' rỗng")):
        split_pages([tmp_path / "trang.jpg"], tmp_path / "work")


def test_truncated_png_is_refused_as_damaged(tmp_path: Path) -> None:
    """A PNG cut short mid-transfer is refused as damaged."""
    write_scan(tmp_path / "full.png", SHORT, dpi=100)
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInputError, match=re.escape("'cut.png' bị hỏng")):
        split_pages([tmp_path / "cut.png"], tmp_path / "work")


def test_missing_file_and_no_input_are_refused(tmp_path: Path) -> None:
    """A file that does not exist, or an empty list of inputs, is refused."""
    with pytest.raises(BadInputError, match=re.escape("Không tìm thấy tệp 'khong-co.png'")):
        split_pages([tmp_path / "khong-co.png"], tmp_path / "work")
    with pytest.raises(BadInputError, match=re.escape("Không có tệp nào")):
        split_pages([], tmp_path / "work")


def test_pdf_with_text_is_refused(tmp_path: Path) -> None:
    """A PDF that already carries text (fonts) is refused: we only take image-only PDFs."""
    sheet = canvas.Canvas(str(tmp_path / "van-ban.pdf"))
    sheet.drawString(72, 720, "Giấy xác nhận")
    sheet.showPage()
    sheet.save()
    with pytest.raises(BadInputError, match=re.escape("'van-ban.pdf' trang 1 đã có chữ")):
        split_pages([tmp_path / "van-ban.pdf"], tmp_path / "work")


def test_pdf_page_without_image_is_refused(tmp_path: Path) -> None:
    """An image-only PDF with a blank page among its scans is refused, naming the page."""
    write_image_pdf(tmp_path / "scan.pdf", ["Trang một."], dpi=100)
    writer = PdfWriter(clone_from=tmp_path / "scan.pdf")
    writer.add_blank_page()
    writer.write(tmp_path / "mixed.pdf")
    with pytest.raises(BadInputError, match=re.escape("'mixed.pdf' trang 2 không có ảnh")):
        split_pages([tmp_path / "mixed.pdf"], tmp_path / "work")


def test_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    """A PDF that needs a password to open is refused with a message saying so."""
    write_image_pdf(tmp_path / "scan.pdf", ["Trang một."], dpi=100)
    writer = PdfWriter(clone_from=tmp_path / "scan.pdf")
    writer.encrypt(user_password="bi-mat", algorithm="AES-128")
    writer.write(tmp_path / "khoa.pdf")
    with pytest.raises(BadInputError, match=re.escape("'khoa.pdf' được bảo vệ bằng mật khẩu")):
        split_pages([tmp_path / "khoa.pdf"], tmp_path / "work")


def test_count_pages_reads_headers_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """count_pages counts pages of images, TIFFs and PDFs without decoding any pixels."""
    write_scan(tmp_path / "a.png", SHORT, dpi=72)
    write_multipage_tiff(tmp_path / "b.tif", ["1", "2", "3"], dpi=72, mode="1")
    write_image_pdf(tmp_path / "c.pdf", ["1", "2"], dpi=72)
    inputs = [tmp_path / "a.png", tmp_path / "b.tif", tmp_path / "c.pdf"]

    def no_decoding(self: ImageFile) -> None:
        raise AssertionError("pixels decoded")

    with monkeypatch.context() as patch:
        patch.setattr(ImageFile, "load", no_decoding)
        assert count_pages(inputs) == 6
    assert len(split_pages(inputs, tmp_path / "work")) == 6


def test_pdf_reader_sees_written_pdf(tmp_path: Path) -> None:
    """The image-only PDF test helper writes one image and no fonts per page."""
    write_image_pdf(tmp_path / "scan.pdf", ["Một.", "Hai."], dpi=100)
    reader = PdfReader(io.BytesIO((tmp_path / "scan.pdf").read_bytes()))
    assert [len(p.images) for p in reader.pages] == [1, 1]
    assert all("/Font" not in p["/Resources"].get_object() for p in reader.pages)  # type: ignore[operator]
