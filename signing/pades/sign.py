"""PAdES signatures (B-B to B-LTA) with pyHanko, as incremental updates, checked before return."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.layout import LayoutError
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, Signer
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko_certvalidator.errors import (
    InsufficientRevinfoError,
    PathError,
    RevokedError,
    ValidationError,
)

from core.files import write_atomically
from core.vntime import now_vn, to_vn
from signing.errors import (
    CertificateError,
    SignatureOutputError,
    SigningError,
    StampError,
)
from signing.pades.checks import check_signed
from signing.pades.document import (
    add_signature_page,
    check_field_free,
    has_signatures,
    int_box,
    open_for_update,
    page_box,
    page_index,
)
from signing.pades.levels import level_at_least
from signing.pades.options import SignOptions, UpdateCheck, checked_level
from signing.pades.signer import ClockedPdfSigner
from signing.pades.timestamps import timestamper_for
from signing.stamp.place import clear_placement, default_stamp_box, read_pages
from signing.stamp.text import nfc, stamp_style

__all__ = ["sign_file", "sign_pdf"]

logger = logging.getLogger(__name__)

DIGEST_ALGORITHM = "sha256"

TSA_DOWN_VI = "Không kết nối được máy chủ cấp dấu thời gian; lô ký sẽ thử lại"
"""Message of the retryable error raised when the timestamp authority does not answer."""

REVOCATION_DOWN_VI = "Không lấy được thông tin thu hồi chứng thư số (OCSP/CRL); lô ký sẽ thử lại"
"""Message of the retryable error raised when no revocation source answers."""

_SIGNATURE_SLACK = 4096
"""Bytes reserved beyond certificates, signature value and timestamp (signed attributes, DER)."""

_DEFAULT_OPTIONS = SignOptions()
"""Options of a call that gives none: an invisible B-B certification signature."""


def sign_pdf(data: bytes, signer: Signer, options: SignOptions = _DEFAULT_OPTIONS) -> bytes:
    """Sign the PDF ``data`` and return the signed document as bytes.

    The signature is PAdES (``ETSI.CAdES.detached``, SHA-256) at ``options.level``,
    appended as incremental updates, so the original bytes stay untouched.
    ``signer`` is used as is; load it once and call this function for each
    document. The result is checked before it is returned (``check_after_signing``).
    """
    started = time.perf_counter()
    level = checked_level(options)
    stamp = options.stamp
    signed_at = to_vn(stamp.signed_at) if stamp and stamp.signed_at else now_vn()
    writer = open_for_update(data)
    check_field_free(writer, options.field_name)
    certify = options.certify and not has_signatures(writer)

    field_spec = SigFieldSpec(sig_field_name=options.field_name)
    style = None
    text_params: dict[str, str] | None = None
    if stamp is not None:
        style, text_params = stamp_style(stamp, signed_at)
        if options.placed is not None or (options.page is None and options.box is None):
            # The layout decides: Decree 30 puts a certified copy's signature top
            # right of page 1 and a person's signature at the end; never over what
            # is printed there (the nearest free space, else a signature page).
            # each page's box walks the page tree: read once, wanted up to three times
            box_of = functools.cache(lambda index: page_box(writer, index))
            placed = options.placed or clear_placement(stamp, read_pages(data), box_of)
            page, box = placed.page, placed.box
            if placed.signature_page:
                page = add_signature_page(writer, box_of(placed.wished_page))
        else:
            page = page_index(writer, -1 if options.page is None else options.page)
            box = options.box or default_stamp_box(page_box(writer, page))
        field_spec = SigFieldSpec(
            sig_field_name=options.field_name,
            on_page=page,
            box=int_box(box),
        )
    timestamper: TimeStamper | None = None
    bytes_reserved: int | None = None  # B-B: pyHanko's own estimate, no network
    if level_at_least(level, "B-T"):
        assert options.timestamper is not None  # checked by checked_level
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
    pdf_signer = ClockedPdfSigner(
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
    check_signed(signed, len(data), level, signer, options.check_after_signing)
    check = options.output_check
    if check is not None:
        # the input was checked when it was made: only the signature's revision is read
        found = list(
            check.update(data, signed) if isinstance(check, UpdateCheck) else check(signed)
        )
        if found:
            # Only what signing brought in counts: the input is checked only then.
            had = {str(finding) for finding in check(data)}
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
    options: SignOptions = _DEFAULT_OPTIONS,
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
    write_signed(out, signed)
    return hashlib.sha256(signed).hexdigest()


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


def write_signed(out: Path, data: bytes) -> None:
    """Write a signed document to ``out`` atomically and durably (see :mod:`core.files`)."""
    try:
        write_atomically(out, data)
    except OSError as exc:
        raise SignatureOutputError(f"Không ghi được tệp đã ký: {out.name}") from exc
