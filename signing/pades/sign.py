"""PAdES signatures (B-B to B-LTA) with pyHanko, as incremental updates, checked before return."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import LayoutError
from pyhanko.pdf_utils.misc import PdfError, PdfStrictReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.rw_common import find_inherited_value_in_tree
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import (
    InsufficientRevinfoError,
    PathError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from core.vntime import now_vn, to_vn
from signing.errors import (
    CertificateError,
    PdfInputError,
    SignatureOutputError,
    SigningError,
    StampError,
)
from signing.pades.evidence import (
    LEVELS,
    MetadataKeepingWriter,
    PadesLevel,
    append_evidence,
    level_at_least,
    read_validation_data,
    signature_timestamp_tokens,
    timestamper_for,
    token_is_sound,
)
from signing.stamp.place import default_stamp_box, stamp_placement
from signing.stamp.text import StampText, nfc, stamp_style

__all__ = ["PadesLevel", "SignOptions", "StampText", "sign_file", "sign_pdf"]

logger = logging.getLogger(__name__)

DIGEST_ALGORITHM = "sha256"

TSA_DOWN_VI = "Không kết nối được máy chủ cấp dấu thời gian; lô ký sẽ thử lại"
"""Message of the retryable error raised when the timestamp authority does not answer."""

REVOCATION_DOWN_VI = "Không lấy được thông tin thu hồi chứng thư số (OCSP/CRL); lô ký sẽ thử lại"
"""Message of the retryable error raised when no revocation source answers."""

_SIGNATURE_SLACK = 4096
"""Bytes reserved beyond certificates, signature value and timestamp (signed attributes, DER)."""

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_HEX_CONTENTS = re.compile(rb"<([0-9A-Fa-f]*)>")


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

    page: int | None = None
    """Zero-based index of the stamp's page (-1 the last); None is the layout's own place."""

    box: tuple[float, float, float, float] | None = None
    """Stamp rectangle (x0, y0, x1, y1) in points; None is the layout's own place
    (or about 220×70 pt bottom right when only ``page`` is given)."""

    certify: bool = True
    """Make a certification signature (DocMDP P=2, "form filling and signing").

    Later edits other than timestamps, validation data (DSS), filling forms and
    adding signatures then make the signature report a modification. A document
    that already carries a signature cannot be certified any more; it then gets
    an approval signature.
    """

    level: PadesLevel = "B-B"
    """PAdES baseline level: B-B signature only; B-T adds an RFC 3161 signature
    timestamp; B-LT also embeds the certificates and revocation data (DSS); B-LTA
    also adds a document timestamp over all of it. A level is never lowered: when
    a service it needs does not answer, signing fails with disposition "retry"."""

    timestamper: TimeStamper | str | None = None
    """Timestamp authority for B-T and above: a pyHanko TimeStamper or an RFC 3161 URL."""

    validation_context: ValidationContext | None = None
    """Trust roots and revocation sources for B-LT and B-LTA, e.g. from
    :func:`signing.pades.evidence.revocation_context`. Ignored below B-LT, so B-B and
    B-T never fetch OCSP or CRL data."""

    check_after_signing: bool = True
    """Validate the signed output (signature intact and valid, timestamps sound)
    before returning it; a failure raises SigningError with disposition "fail"."""

    output_check: Callable[[bytes], Sequence[object]] | None = None
    """A further check of the document, returning what is wrong with it (nothing when
    sound): the PDF/A clauses a digitized document promises, for instance. It runs on
    the input and on the signed output; a finding the input did not have, so one
    that signing brought in, refuses the output with disposition "fail". A
    module-level function, so that the options can cross to the engine's workers."""


def sign_pdf(data: bytes, signer: Signer, options: SignOptions = SignOptions()) -> bytes:
    """Sign the PDF ``data`` and return the signed document as bytes.

    The signature is PAdES (``ETSI.CAdES.detached``, SHA-256) at ``options.level``,
    appended as incremental updates, so the original bytes stay untouched.
    ``signer`` is used as is; load it once and call this function for each
    document. The result is checked before it is returned (``check_after_signing``).
    """
    started = time.perf_counter()
    level = _checked_level(options)
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
        if options.page is None and options.box is None:
            # The layout decides: Decree 30 puts a certified copy's signature top
            # right of page 1 and a person's signature at the end.
            page, box = stamp_placement(
                stamp, _page_count(writer), lambda index: _page_box(writer, index)
            )
        else:
            page = _page_index(writer, -1 if options.page is None else options.page)
            box = options.box or default_stamp_box(_page_box(writer, page))
        field_spec = SigFieldSpec(
            sig_field_name=options.field_name,
            on_page=page,
            box=_int_box(box),
        )
    timestamper: TimeStamper | None = None
    bytes_reserved: int | None = None  # B-B: pyHanko's own estimate, no network
    if level_at_least(level, "B-T"):
        assert options.timestamper is not None  # checked by _checked_level
        try:
            timestamper = timestamper_for(options.timestamper)
        except ValueError as exc:
            raise SigningError("Địa chỉ máy chủ cấp dấu thời gian (TSA) không hợp lệ") from exc
        bytes_reserved = _reserve_with_timestamp(signer, timestamper)
    long_term = level_at_least(level, "B-LT")
    metadata = PdfSignatureMetadata(
        field_name=options.field_name,
        md_algorithm=DIGEST_ALGORITHM,
        subfilter=SigSeedSubFilter.PADES,
        reason=nfc(options.reason) or None,
        location=nfc(options.location) or None,
        certify=certify,
        docmdp_permissions=MDPPerm.FILL_FORMS,
        embed_validation_info=long_term,
        use_pades_lta=level == "B-LTA",
        validation_context=options.validation_context if long_term else None,
        signer_key_usage=_signer_key_usage(signer),
    )
    pdf_signer = _ClockedPdfSigner(
        metadata,
        signer,
        timestamper=timestamper,
        stamp_style=style,
        new_field_spec=field_spec,
        signing_time=signed_at,
    )
    try:
        output = pdf_signer.sign_pdf(
            writer, bytes_reserved=bytes_reserved, appearance_text_params=text_params
        )
    except LayoutError as exc:
        raise StampError("Nội dung chữ ký hiển thị không vừa ô chữ ký") from exc
    except (PdfError, ValueError, KeyError, TypeError, OSError, PathError, ValidationError) as exc:
        raise _signing_failure(exc) from exc
    signed: bytes = output.getvalue()
    _check_signed(signed, len(data), level, signer, options.check_after_signing)
    if options.output_check is not None:
        found = list(options.output_check(signed))
        if found:
            # Only what signing brought in counts: the input is checked only then.
            had = {str(finding) for finding in options.output_check(data)}
            found = [finding for finding in found if str(finding) not in had]
        if found:
            raise SigningError(
                "Tệp sau khi ký không còn đạt các yêu cầu lưu trữ (PDF/A) của tài liệu số hóa: "
                f"{found[0]}",
                disposition="fail",
            )
    logger.info(
        "signed PDF: field=%s level=%s certify=%s visible=%s in %.0f ms",
        options.field_name,
        level,
        certify,
        stamp is not None,
        (time.perf_counter() - started) * 1000,
    )
    return signed


def sign_file(
    src: Path,
    out: Path,
    signer: Signer,
    options: SignOptions = SignOptions(),
) -> str:
    """Sign the PDF at ``src`` into ``out`` atomically and return the output's SHA-256 hex.

    The output is written to a temporary name in the same folder and renamed, so
    ``out`` is either absent or complete; nothing is written when signing fails.
    """
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise SigningError(f"Không đọc được tệp cần ký: {src.name}", disposition="retry") from exc
    signed = sign_pdf(data, signer, options)
    write_atomic(out, signed)
    return hashlib.sha256(signed).hexdigest()


class _ClockedPdfSigner(PdfSigner):
    """A PdfSigner whose signing time is given and whose later revisions keep the metadata.

    pyHanko takes the claimed signing time (``/M``) and the stamp's time from the
    signing session; setting it here keeps both equal to the injected time. The
    DSS and document timestamp revisions (B-LT, B-LTA) are written like the
    signature's, leaving Info and XMP as they are.
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

    async def async_sign_pdf(
        self,
        pdf_out: Any,
        existing_fields_only: bool = False,
        bytes_reserved: int | None = None,
        *,
        appearance_text_params: dict[str, str] | None = None,
        in_place: bool = False,
        output: IO[bytes] | None = None,
        chunk_size: int = misc.DEFAULT_CHUNK_SIZE,
    ) -> IO[bytes]:
        """Sign as pyHanko does, but append the B-LT and B-LTA revisions with metadata left alone.

        The steps are pyHanko's interrupted-signing ones; only the last, the
        post-signing DSS and document timestamp, is :func:`append_evidence`.
        """
        session = self.init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        validation_info = await session.perform_presign_validation(pdf_out)
        if bytes_reserved is None:
            bytes_reserved = await session.estimate_signature_container_size(
                validation_info, tight=self.signature_meta.tight_size_estimates
            )
        tbs_document = session.prepare_tbs_document(
            validation_info=validation_info,
            bytes_reserved=bytes_reserved,
            appearance_text_params=appearance_text_params,
        )
        digest, res_output = tbs_document.digest_tbs_document(
            in_place=in_place, chunk_size=chunk_size, output=output
        )
        signed = await tbs_document.perform_signature(
            document_digest=digest.document_digest,
            pdf_cms_signed_attrs=PdfCMSSignedAttributes(
                signing_time=session.system_time,
                adobe_revinfo_attr=(
                    None if validation_info is None else validation_info.adobe_revinfo_attr
                ),
                cades_signed_attrs=self.signature_meta.cades_signed_attr_spec,
            ),
        )
        await append_evidence(res_output, signed)
        result: IO[bytes] = misc.finalise_output(output, res_output)  # type: ignore[no-untyped-call]
        return result


def _checked_level(options: SignOptions) -> PadesLevel:
    level = options.level
    if level not in LEVELS:
        raise SigningError(f"Mức chữ ký PAdES không hợp lệ: {level}")
    if level_at_least(level, "B-T") and options.timestamper is None:
        raise SigningError(
            f"Chữ ký mức {level} cần máy chủ cấp dấu thời gian (TSA) nhưng chưa được cấu hình"
        )
    if level_at_least(level, "B-LT") and options.validation_context is None:
        raise SigningError(
            f"Chữ ký mức {level} cần nguồn kiểm tra thu hồi chứng thư (OCSP/CRL) "
            "nhưng chưa được cấu hình"
        )
    return level


def _signer_key_usage(signer: Signer) -> set[str]:
    """Key usage pyHanko checks before B-LT signing: the certificate's own signing usage."""
    cert = signer.signing_cert
    usages = cert.key_usage_value.native if cert is not None and cert.key_usage_value else set()
    return {"non_repudiation"} if "non_repudiation" in usages else {"digital_signature"}


def _reserve_with_timestamp(signer: Signer, timestamper: TimeStamper) -> int:
    """Bytes (hex digits) to reserve for a CMS blob carrying a signature timestamp.

    Counts every certificate the signer embeds, the largest signature value its
    key can make and twice the TSA's sample token (a real token can be larger:
    another TSA certificate, a longer nonce), doubled for hex. The TSA is asked
    for the sample once per timestamper, so this is also where an unreachable
    TSA is noticed, before anything is written.
    """
    try:
        sample = asyncio.run(timestamper.async_dummy_response(DIGEST_ALGORITHM))
    except (TimestampRequestError, OSError) as exc:
        raise SigningError(TSA_DOWN_VI, disposition="retry") from exc
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(
            "Máy chủ cấp dấu thời gian trả lời không hợp lệ; lô ký sẽ thử lại",
            disposition="retry",
        ) from exc
    certs: list[asn1_x509.Certificate] = list(signer.cert_registry)
    if signer.signing_cert is not None:
        certs.append(signer.signing_cert)
    cert_bytes = sum(len(cert.dump()) for cert in certs)
    key_bits = signer.signing_cert.public_key.bit_size if signer.signing_cert else 4096
    signature_bytes = 2 * (key_bits // 8) + 16  # RSA needs one modulus, ECDSA two integers
    return 2 * (cert_bytes + signature_bytes + 2 * len(sample.dump()) + _SIGNATURE_SLACK)


def _signing_failure(exc: BaseException) -> SigningError:
    """Turn what pyHanko or a service raised into a SigningError with its disposition."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if any(isinstance(e, RevokedError) for e in chain):
        return CertificateError("Chứng thư số của người ký đã bị thu hồi, không ký được")
    if any(isinstance(e, TimestampRequestError) for e in chain):
        return SigningError(TSA_DOWN_VI, disposition="retry")
    if any(isinstance(e, InsufficientRevinfoError) for e in chain):
        return SigningError(REVOCATION_DOWN_VI, disposition="retry")
    if any(isinstance(e, (PathError, ValidationError)) for e in chain):
        return CertificateError(
            "Không xác thực được chứng thư số của người ký với tổ chức cấp chứng thư được tin cậy"
        )
    if any(isinstance(e, OSError) for e in chain):
        return SigningError("Lỗi kết nối khi ký số; lô ký sẽ thử lại", disposition="retry")
    return SigningError("Không ký được tài liệu PDF này")


def _check_signed(
    signed: bytes, start: int, level: PadesLevel, signer: Signer, verify: bool
) -> None:
    """Make sure ``signed`` carries what ``level`` promises, and (``verify``) that it is sound.

    The new signature is read straight from the bytes appended after ``start``
    (a PDF reader would spend 10–20 ms tokenising the hex blob, a third of an
    invisible B-B signature), its digest recomputed and its value checked
    against the signer's certificate; timestamps must stamp what they claim to. The DSS
    is always checked at B-LT and above, so a lenient revocation context cannot
    quietly produce a weaker signature.
    """
    if verify:
        byte_range, signed_data = _own_signature(signed, start)
        a, b, c, d = byte_range
        if not level_at_least(level, "B-LT") and c + d != len(signed):
            raise _unsound("chữ ký không bao trùm toàn bộ tệp")
        signer_info = signed_data["signer_infos"][0]
        md_name = signer_info["digest_algorithm"]["algorithm"].native
        view = memoryview(signed)
        digest = _digest(md_name, view[a : a + b], view[c : c + d])
        if signer.signing_cert is None:
            raise _unsound("không có chứng thư số của người ký")
        try:
            intact, valid = validate_sig_integrity(signer_info, signer.signing_cert, "data", digest)
        except (ValueError, KeyError, TypeError) as exc:
            raise _unsound("không đọc được chữ ký") from exc
        if not (intact and valid):
            raise _unsound("chữ ký không toàn vẹn hoặc không hợp lệ")
        if level_at_least(level, "B-T"):
            signature_value = signer_info["signature"].native
            tokens = signature_timestamp_tokens(signer_info)
            if not tokens or not all(
                token_is_sound(token, lambda name: _digest(name, signature_value))
                for token in tokens
            ):
                raise _unsound("dấu thời gian của chữ ký không hợp lệ")
    if not level_at_least(level, "B-LT"):
        return
    cert = signer.signing_cert
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    if cert is None or not read_validation_data(reader).covers(cert):
        raise SigningError(
            "Không nhúng được thông tin thu hồi chứng thư số vào tài liệu; lô ký sẽ thử lại",
            disposition="retry",
        )
    if level != "B-LTA":
        return
    stamps = list(reader.embedded_timestamp_signatures)
    last = stamps[-1] if stamps else None
    if last is None or not read_validation_data(
        reader.get_historical_resolver(last.signed_revision)
    ).covers(cert):
        raise _unsound("thiếu dấu thời gian tài liệu bao trùm dữ liệu kiểm tra")
    if verify and not token_is_sound(last.signed_data, last.compute_digest):
        raise _unsound("dấu thời gian tài liệu không hợp lệ")


def _own_signature(signed: bytes, start: int) -> tuple[tuple[int, int, int, int], cms.SignedData]:
    """Return the byte range and CMS SignedData of the first signature written after ``start``."""
    match = _BYTE_RANGE.search(signed, start)
    if match is None:
        raise _unsound("không tìm thấy chữ ký vừa tạo")
    a, b, c, d = (int(group) for group in match.groups())
    contents = _HEX_CONTENTS.fullmatch(signed, b, c) if a == 0 and start < b < c else None
    if contents is None or c + d > len(signed):
        raise _unsound("vùng ký (ByteRange) không đúng")
    try:
        info = cms.ContentInfo.load(bytes.fromhex(contents.group(1).decode("ascii")), strict=False)
        signed_data = info["content"]
        if not isinstance(signed_data, cms.SignedData):
            raise TypeError("not SignedData")
    except (ValueError, TypeError, KeyError) as exc:
        raise _unsound("không đọc được chữ ký vừa tạo") from exc
    return (a, b, c, d), signed_data


def _digest(md_name: str, *parts: bytes | memoryview) -> bytes:
    hasher = hashes.Hash(get_pyca_cryptography_hash(md_name))
    for part in parts:
        hasher.update(part)
    return hasher.finalize()


def _unsound(why: str) -> SigningError:
    return SigningError(
        f"Tài liệu vừa ký không qua được bước kiểm tra ({why}); tài liệu chưa được ký",
        disposition="fail",
    )


def _open_for_update(data: bytes) -> IncrementalPdfFileWriter:
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise PdfInputError("Tệp không phải là tài liệu PDF")
    try:
        try:
            writer = MetadataKeepingWriter(io.BytesIO(data), strict=True)
        except PdfStrictReadError:
            # hybrid-reference and slightly malformed files need the lenient reader
            writer = MetadataKeepingWriter(io.BytesIO(data), strict=False)
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


def write_atomic(out: Path, data: bytes) -> None:
    """Write ``data`` to ``out`` through a temporary file in the same folder and a rename."""
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
    except BaseException:  # interrupted (worker stopped): leave no temporary file behind
        tmp.unlink(missing_ok=True)
        raise
