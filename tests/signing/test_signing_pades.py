"""Tests of PAdES signing: round trips, the Vietnamese stamp, tampering and batch use."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import unicodedata
from pathlib import Path
from typing import cast

import pytest
from pyhanko.sign.signers import SimpleSigner
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, NumberObject

from signing.devpki import IssuedKey
from signing.errors import PdfInputError, SignatureOutputError, SigningError, StampError
from signing.pades.options import SignOptions
from signing.pades.sign import sign_file, sign_pdf
from signing.stamp.text import StampText
from signing.verify.check import verify_pdf
from tests.support.pki import (
    TEST_OFFICE,
    TEST_SIGNED_AT,
    TEST_SIGNER,
    append_text_update,
    make_test_pdf,
    read_stamps,
)


def _sig_dict(pdf: bytes, field: str) -> DictionaryObject:
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if annot.get("/T") == field:
                value = annot["/V"].get_object()
                assert isinstance(value, DictionaryObject)
                return value
    fields = reader.get_fields() or {}
    value = fields[field]["/V"]
    assert isinstance(value, DictionaryObject)
    return value


def test_round_trip_is_trusted_by_the_test_ca(
    signed_pdf: bytes, unsigned_pdf: bytes, trust: list[Path]
) -> None:
    """A signed document verifies as intact, valid, trusted and unmodified."""
    report = verify_pdf(signed_pdf, trust)
    assert report.ok
    (sig,) = report.signatures
    assert (sig.field, sig.signer) == ("ChuKySo1", TEST_SIGNER)
    assert sig.intact and sig.valid and sig.trusted and not sig.modified_after
    assert sig.coverage == "ENTIRE_FILE"
    assert sig.signing_time == TEST_SIGNED_AT
    assert sig.summary_vi.startswith("Chữ ký hợp lệ")
    # an incremental update: the original bytes are untouched at the start
    assert signed_pdf.startswith(unsigned_pdf)


def test_signature_is_pades_certification_with_form_filling_allowed(signed_pdf: bytes) -> None:
    """The signature dictionary says ETSI.CAdES.detached and DocMDP level 2."""
    sig = _sig_dict(signed_pdf, "ChuKySo1")
    assert str(sig["/SubFilter"]) == "/ETSI.CAdES.detached"
    assert str(sig["/Reason"]) == "Phê duyệt kết quả giải quyết thủ tục hành chính"
    assert str(sig["/M"]).startswith("D:20261122140503+07")
    (ref,) = cast(ArrayObject, sig["/Reference"])
    reference = cast(DictionaryObject, ref.get_object())
    assert str(reference["/TransformMethod"]) == "/DocMDP"
    assert int(cast(NumberObject, cast(DictionaryObject, reference["/TransformParams"])["/P"])) == 2


def test_untrusted_with_another_ca(signed_pdf: bytes, other_pki: IssuedKey) -> None:
    """Against another CA the signature is intact and valid but not trusted."""
    report = verify_pdf(signed_pdf, [other_pki.ca_cert])
    (sig,) = report.signatures
    assert sig.intact and sig.valid
    assert not sig.trusted
    assert not report.ok
    assert "không được tin cậy" in sig.summary_vi


def test_stamp_is_embedded_truetype_with_vietnamese_text(signed_pdf: bytes) -> None:
    """The stamp uses an embedded TrueType subset whose ToUnicode gives the Vietnamese text."""
    (stamp,) = read_stamps(signed_pdf)
    assert stamp.font_subtype == "/CIDFontType2"
    assert stamp.font_embedded
    assert stamp.text == (
        "Ký bởi: Nguyễn Văn An\n"
        "Cơ quan: UBND xã Thử Nghiệm\n"
        "Thời gian: 22/11/2026 14:05:03 (giờ Việt Nam)"
    )


def test_stamp_sits_bottom_right_on_the_last_page(signed_pdf: bytes) -> None:
    """By default the stamp is about 220×70 pt in the bottom-right corner of the last page."""
    (stamp,) = read_stamps(signed_pdf)
    width, height = 595.2756, 841.8898  # A4, as made by make_test_pdf
    assert stamp.page == 1
    x0, y0, x1, y1 = stamp.rect
    assert (round(x1 - x0), round(y1 - y0)) == (220, 70)
    assert x1 > width * 0.85 and x0 > width / 2
    assert y0 < height * 0.1


def test_stamp_text_is_nfc_and_percent_safe(unsigned_pdf: bytes, signer: SimpleSigner) -> None:
    """Decomposed input is shown precomposed, and a '%' in a name is printed as is."""
    name = unicodedata.normalize("NFD", "Lê Thị Hồng Nhung")
    options = SignOptions(
        stamp=StampText(signer_name=name, office_name="Sở 100% số hóa", signed_at=TEST_SIGNED_AT),
        page=0,
        box=(72, 72, 292, 142),
    )
    (stamp,) = read_stamps(sign_pdf(unsigned_pdf, signer, options))
    assert stamp.page == 0
    assert stamp.rect == (72, 72, 292, 142)
    lines = stamp.text.split("\n")
    assert lines[0] == "Ký bởi: Lê Thị Hồng Nhung"
    assert lines[0] == unicodedata.normalize("NFC", lines[0])
    assert lines[1] == "Cơ quan: Sở 100% số hóa"


def test_invisible_signature_has_no_stamp(
    unsigned_pdf: bytes, signer: SimpleSigner, trust: list[Path]
) -> None:
    """Without stamp text the signature is invisible and still verifies."""
    signed = sign_pdf(unsigned_pdf, signer, SignOptions())
    assert read_stamps(signed) == []
    assert verify_pdf(signed, trust).ok


def test_text_added_after_signing_is_detected(signed_pdf: bytes, trust: list[Path]) -> None:
    """Text drawn in a later incremental update makes the report say modified after signing."""
    tampered = append_text_update(signed_pdf)
    assert tampered.startswith(signed_pdf)
    report = verify_pdf(tampered, trust)
    (sig,) = report.signatures
    assert sig.intact and sig.trusted
    assert sig.modified_after
    assert sig.coverage == "ENTIRE_REVISION"
    assert sig.summary_vi == "Tài liệu đã bị sửa sau khi ký."
    assert not report.ok


def test_changed_byte_in_signed_range_breaks_integrity(
    signed_pdf: bytes, trust: list[Path]
) -> None:
    """Changing one byte that the signature covers makes the signature not intact."""
    assert signed_pdf.count(b"/Producer (pypdf)") == 1
    tampered = signed_pdf.replace(b"/Producer (pypdf)", b"/Producer (pypdg)")
    report = verify_pdf(tampered, trust)
    (sig,) = report.signatures
    assert not sig.intact
    assert not sig.ok and not report.ok
    assert "toàn vẹn" in sig.summary_vi


def test_one_loaded_signer_signs_many_documents(
    signer: SimpleSigner,
    visible_options: SignOptions,
    trust: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A signer loaded once signs several documents in a loop without opening the key again."""

    def no_reload(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the PKCS#12 file was opened again")

    monkeypatch.setattr("signing.keys.pkcs12.pkcs12.load_key_and_certificates", no_reload)
    documents = [make_test_pdf(pages=1, title=f"Giấy phép số {n}") for n in range(3)]
    signed = [sign_pdf(doc, signer, visible_options) for doc in documents]
    for original, result in zip(documents, signed, strict=True):
        assert result.startswith(original)
        assert verify_pdf(result, trust).ok
    assert len({hashlib.sha256(s).digest() for s in signed}) == 3


def test_second_signature_on_a_certified_document(
    signed_pdf: bytes, signer: SimpleSigner, trust: list[Path]
) -> None:
    """A later invisible approval signature leaves both signatures valid."""
    twice = sign_pdf(signed_pdf, signer, SignOptions(field_name="ChuKySo2"))
    report = verify_pdf(twice, trust)
    assert [s.field for s in report.signatures] == ["ChuKySo1", "ChuKySo2"]
    assert report.ok
    assert "/Reference" not in _sig_dict(twice, "ChuKySo2")


def test_two_visible_signatures_without_certification(
    unsigned_pdf: bytes, signer: SimpleSigner, trust: list[Path]
) -> None:
    """Two officials can each add a visible stamp when the first does not certify."""
    first = sign_pdf(
        unsigned_pdf,
        signer,
        SignOptions(stamp=StampText("Nguyễn Văn An", TEST_OFFICE), certify=False),
    )
    second = sign_pdf(
        first,
        signer,
        SignOptions(
            field_name="ChuKySo2",
            stamp=StampText("Trần Thị Bình", TEST_OFFICE),
            box=(72, 36, 292, 106),
        ),
    )
    assert verify_pdf(second, trust).ok
    assert [s.text.split("\n")[0] for s in read_stamps(second)] == [
        "Ký bởi: Nguyễn Văn An",
        "Ký bởi: Trần Thị Bình",
    ]


def test_signing_an_already_signed_field_is_refused(
    signed_pdf: bytes, signer: SimpleSigner
) -> None:
    """The same field cannot be signed twice."""
    with pytest.raises(SigningError) as info:
        sign_pdf(signed_pdf, signer, SignOptions())
    assert "ChuKySo1" in info.value.message_vi


def test_non_pdf_input_is_quarantined(signer: SimpleSigner) -> None:
    """Bytes that are not a PDF raise PdfInputError with disposition quarantine."""
    with pytest.raises(PdfInputError) as info:
        sign_pdf(b"\x89PNG\r\n\x1a\n day la anh", signer)
    assert info.value.disposition == "quarantine"


def test_damaged_pdf_is_quarantined(unsigned_pdf: bytes, signer: SimpleSigner) -> None:
    """A truncated PDF raises PdfInputError rather than a library error."""
    with pytest.raises(PdfInputError):
        sign_pdf(unsigned_pdf[: len(unsigned_pdf) // 3], signer)


def test_stamp_page_out_of_range(
    unsigned_pdf: bytes, signer: SimpleSigner, visible_options: SignOptions
) -> None:
    """Asking for a page the document lacks gives a Vietnamese error."""
    options = dataclasses.replace(visible_options, page=5)
    with pytest.raises(SigningError) as info:
        sign_pdf(unsigned_pdf, signer, options)
    assert "trang" in info.value.message_vi


def test_missing_font_is_a_stamp_error(unsigned_pdf: bytes, signer: SimpleSigner) -> None:
    """A font path that does not exist raises StampError."""
    stamp = StampText(TEST_SIGNER, TEST_OFFICE, font_path=Path("/khong/co/font.ttf"))
    with pytest.raises(StampError):
        sign_pdf(unsigned_pdf, signer, SignOptions(stamp=stamp))


def test_sign_file_writes_atomically_and_returns_the_digest(
    tmp_path: Path,
    unsigned_pdf: bytes,
    signer: SimpleSigner,
    visible_options: SignOptions,
    trust: list[Path],
) -> None:
    """sign_file writes the signed PDF, leaves no temporary file and returns its SHA-256."""
    src = tmp_path / "ket-qua.pdf"
    src.write_bytes(unsigned_pdf)
    out = tmp_path / "ket-qua.signed.pdf"
    digest = sign_file(src, out, signer, visible_options)
    data = out.read_bytes()
    assert digest == hashlib.sha256(data).hexdigest()
    assert verify_pdf(data, trust).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ket-qua.pdf", "ket-qua.signed.pdf"]


def test_sign_file_into_a_missing_folder_is_retryable(
    tmp_path: Path, unsigned_pdf: bytes, signer: SimpleSigner
) -> None:
    """A write failure raises SignatureOutputError (retry) and leaves nothing behind."""
    src = tmp_path / "ket-qua.pdf"
    src.write_bytes(unsigned_pdf)
    with pytest.raises(SignatureOutputError) as info:
        sign_file(src, tmp_path / "khong-co" / "out.pdf", signer)
    assert info.value.disposition == "retry"
    assert [p.name for p in tmp_path.iterdir()] == ["ket-qua.pdf"]


def test_signing_time_defaults_to_now(
    unsigned_pdf: bytes, signer: SimpleSigner, trust: list[Path]
) -> None:
    """Without an injected time the claimed signing time is the current time."""
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    signed = sign_pdf(unsigned_pdf, signer, SignOptions(stamp=StampText(TEST_SIGNER, TEST_OFFICE)))
    after = dt.datetime.now(dt.UTC)
    (sig,) = verify_pdf(signed, trust).signatures
    assert sig.signing_time is not None
    assert before <= sig.signing_time <= after
