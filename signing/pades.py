"""PAdES B-B signatures with pyHanko, as an incremental update, with an optional stamp."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import LayoutError
from pyhanko.pdf_utils.misc import PdfError, PdfStrictReadError
from pyhanko.pdf_utils.rw_common import find_inherited_value_in_tree
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko.sign.signers.pdf_signer import PdfSigningSession

from signing.errors import PdfInputError, SignatureOutputError, SigningError, StampError
from signing.stamp import StampText, default_stamp_box, nfc, stamp_style
from signing.vntime import now_vn, to_vn

__all__ = ["SignOptions", "StampText", "sign_file", "sign_pdf"]

logger = logging.getLogger(__name__)

DIGEST_ALGORITHM = "sha256"


@dataclass(frozen=True)
class SignOptions:
    field_name: str = "ChuKySo1"
    """Name of the signature form field to create (must not hold a signature yet)."""

    reason: str = "Phê duyệt kết quả giải quyết thủ tục hành chính"
    """Reason for signing, stored in the signature dictionary."""

    location: str = ""
    """Place of signing stored in the signature dictionary; empty means none."""

    stamp: StampText | None = None
    """Text of the visible stamp; None makes an invisible signature."""

    page: int = -1
    """Zero-based index of the page carrying the visible stamp; -1 is the last page."""

    box: tuple[float, float, float, float] | None = None
    """Stamp rectangle (x0, y0, x1, y1) in points; None is about 220×70 pt bottom right."""

    certify: bool = True
    """Make a certification signature (DocMDP "form filling and signing").

    Later edits other than filling forms and adding signatures then make the
    signature report a modification. A document that already carries a signature
    cannot be certified any more; it then gets an approval signature.
    """


def sign_pdf(data: bytes, signer: SimpleSigner, options: SignOptions = SignOptions()) -> bytes:
    """Sign the PDF ``data`` and return the signed document as bytes.

    The signature is PAdES B-B (``ETSI.CAdES.detached``, SHA-256) appended as an
    incremental update, so the original bytes stay untouched. ``signer`` is used as
    is; load it once and call this function for each document.
    """
    started = time.perf_counter()
    stamp = options.stamp
    signed_at = to_vn(stamp.signed_at) if stamp and stamp.signed_at else now_vn()
    writer = _open_for_update(data)
    _check_field_free(writer, options.field_name)
    certify = options.certify and not _has_signatures(writer)

    field_spec = SigFieldSpec(sig_field_name=options.field_name)
    style = None
    text_params: dict[str, str] | None = None
    if stamp is not None:
        style, text_params = stamp_style(stamp, signed_at)
        page = _page_index(writer, options.page)
        box = options.box or default_stamp_box(_page_box(writer, page))
        field_spec = SigFieldSpec(
            sig_field_name=options.field_name,
            on_page=page,
            box=_int_box(box),
        )
    metadata = PdfSignatureMetadata(
        field_name=options.field_name,
        md_algorithm=DIGEST_ALGORITHM,
        subfilter=SigSeedSubFilter.PADES,
        reason=nfc(options.reason) or None,
        location=nfc(options.location) or None,
        certify=certify,
        docmdp_permissions=MDPPerm.FILL_FORMS,
    )
    pdf_signer = _ClockedPdfSigner(
        metadata,
        signer,
        stamp_style=style,
        new_field_spec=field_spec,
        signing_time=signed_at,
    )
    try:
        output = pdf_signer.sign_pdf(writer, appearance_text_params=text_params)
    except LayoutError as exc:
        raise StampError("Nội dung chữ ký hiển thị không vừa ô chữ ký") from exc
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError("Không ký được tài liệu PDF này") from exc
    signed: bytes = output.getvalue()
    logger.info(
        "signed PDF: field=%s certify=%s visible=%s in %.0f ms",
        options.field_name,
        certify,
        stamp is not None,
        (time.perf_counter() - started) * 1000,
    )
    return signed


def sign_file(
    src: Path,
    out: Path,
    signer: SimpleSigner,
    options: SignOptions = SignOptions(),
) -> str:
    """Sign the PDF at ``src`` into ``out`` atomically and return the output's SHA-256 hex.

    The output is written to a temporary name in the same folder and renamed, so
    ``out`` is either absent or complete.
    """
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise SigningError(f"Không đọc được tệp cần ký: {src.name}", disposition="retry") from exc
    signed = sign_pdf(data, signer, options)
    _write_atomic(out, signed)
    return hashlib.sha256(signed).hexdigest()


class _ClockedPdfSigner(PdfSigner):
    """A PdfSigner whose signing time is given instead of read from the local clock.

    pyHanko takes the claimed signing time (``/M``) and the stamp's time from the
    signing session; setting it here keeps both equal to the injected time.
    """

    def __init__(self, *args: Any, signing_time: dt.datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(
        self, pdf_out: Any, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        return session


def _open_for_update(data: bytes) -> IncrementalPdfFileWriter:
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise PdfInputError("Tệp không phải là tài liệu PDF")
    try:
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=True)
        except PdfStrictReadError:
            # hybrid-reference and slightly malformed files need the lenient reader
            writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise PdfInputError() from exc
    if writer.prev.encrypted:
        raise PdfInputError("Tài liệu PDF được mã hóa, không ký được")
    return writer


def _check_field_free(writer: IncrementalPdfFileWriter, field_name: str) -> None:
    try:
        filled = list(enumerate_sig_fields(writer, filled_status=True, with_name=field_name))
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise PdfInputError("Không đọc được các trường biểu mẫu của tài liệu PDF") from exc
    if filled:
        raise SigningError(f"Trường chữ ký “{field_name}” của tài liệu đã được ký")


def _has_signatures(writer: IncrementalPdfFileWriter) -> bool:
    return any(True for _ in enumerate_sig_fields(writer, filled_status=True))


def _page_count(writer: IncrementalPdfFileWriter) -> int:
    pages = writer.root["/Pages"]
    assert isinstance(pages, generic.DictionaryObject)
    return int(pages["/Count"])


def _page_index(writer: IncrementalPdfFileWriter, page: int) -> int:
    count = _page_count(writer)
    index = page + count if page < 0 else page
    if not 0 <= index < count:
        raise SigningError(f"Tài liệu có {count} trang, không có trang số {page + 1}")
    return index


def _page_box(writer: IncrementalPdfFileWriter, page: int) -> tuple[float, float, float, float]:
    # these two pyHanko helpers have no annotations
    page_ref, _resources = writer.find_page_for_modification(page)  # type: ignore[no-untyped-call]
    page_obj = page_ref.get_object()
    box = find_inherited_value_in_tree(page_obj, "/CropBox", "/Parent")  # type: ignore[no-untyped-call]
    if box is None:
        box = find_inherited_value_in_tree(page_obj, "/MediaBox", "/Parent")  # type: ignore[no-untyped-call]
    if box is None:
        raise PdfInputError(f"Trang {page + 1} của tài liệu PDF không có kích thước (MediaBox)")
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _int_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (round(v) for v in box)
    return (x0, y0, x1, y1)


def _write_atomic(out: Path, data: bytes) -> None:
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(6)}.tmp")
    try:
        # 0o666 lets the process umask decide, as for any ordinary new file
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SignatureOutputError(f"Không ghi được tệp đã ký: {out.name}") from exc
