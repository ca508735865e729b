"""Checking a signature just made: its bytes, digest, value, timestamps and validation data."""

from __future__ import annotations

import io
import re

from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import Signer
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from signing.errors import SigningError
from signing.pades.evidence import read_validation_data
from signing.pades.levels import PadesLevel, level_at_least
from signing.pades.timestamps import signature_timestamp_tokens, token_is_sound

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_HEX_CONTENTS = re.compile(rb"<([0-9A-Fa-f]*)>")


def check_signed(
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
