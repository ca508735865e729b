"""Recognising an output that holds its source signed by this signer, so none is signed twice."""

from __future__ import annotations

import hashlib
import io
import logging
import re

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.signers import Signer
from pyhanko.sign.validation import SignatureCoverageLevel
from pyhanko.sign.validation.generic_cms import validate_sig_integrity

from signing.pades.evidence import SIGNED_DOCUMENT_POLICY

__all__ = [
    "is_signed_output",
]

logger = logging.getLogger(__name__)


def is_signed_output(output: bytes, source: bytes, signer: Signer, field_name: str) -> bool:
    """Tell whether ``output`` is ``source`` signed by ``signer`` in ``field_name``, intact.

    The output must start with the source's bytes (our signatures are incremental
    updates) and carry, in ``field_name``, a cryptographically correct signature
    made with the signer's certificate that covers the whole file, or its whole
    revision when only validation data and timestamps were added after it (B-LT,
    B-LTA). Trust is not checked: the certificate is the signer's own. The usual
    case (the signature covers the whole file) is checked from the appended bytes
    alone; anything else goes through pyHanko's reader and difference analysis.
    """
    cert = signer.signing_cert
    if cert is None or len(output) <= len(source) or not output.startswith(source):
        return False
    try:
        quick = _quick_signed_check(output, len(source), cert, field_name)
        if quick is not None:
            return quick
        return _thorough_signed_check(output, cert, field_name)
    except Exception:  # any parser failure means "not a signed output we recognise"
        logger.debug("existing output is not a recognised signed document", exc_info=True)
        return False


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _quick_signed_check(
    output: bytes, start: int, cert: asn1_x509.Certificate, field_name: str
) -> bool | None:
    """Decide from the bytes appended to the source when they are one signature revision.

    Returns None when the layout is not that simple, for the thorough check to decide.
    """
    found = list(_BYTE_RANGE.finditer(output, start))
    if len(found) != 1:
        return None
    hole_start, hole_end, tail_len = (int(value) for value in found[0].groups())
    if not (
        start <= hole_start < hole_end
        and hole_end + tail_len == len(output)
        and output[hole_start] == ord("<")
        and output[hole_end - 1] == ord(">")
    ):
        return None
    name = io.BytesIO()
    generic.pdf_string(field_name).write_to_stream(name)
    if b"/T " + name.getvalue() not in output[start:]:
        return None
    contents = bytes.fromhex(output[hole_start + 1 : hole_end - 1].decode("ascii"))
    signed_data = cms.ContentInfo.load(contents)["content"]
    (signer_info,) = signed_data["signer_infos"]
    sid = signer_info["sid"]
    if sid.name != "issuer_and_serial_number":
        return None
    if (
        sid.chosen["issuer"].dump() != cert.issuer.dump()
        or sid.chosen["serial_number"].native != cert.serial_number
    ):
        return False
    digest = hashlib.new(signer_info["digest_algorithm"]["algorithm"].native)
    view = memoryview(output)
    digest.update(view[:hole_start])
    digest.update(view[hole_end:])
    intact, valid = validate_sig_integrity(signer_info, cert, "data", digest.digest())
    return bool(intact and valid)


def _thorough_signed_check(output: bytes, cert: asn1_x509.Certificate, field_name: str) -> bool:
    reader = PdfFileReader(io.BytesIO(output), strict=False)
    for signature in reader.embedded_regular_signatures:
        if signature.field_name != field_name:
            continue
        if signature.signer_cert.dump() != cert.dump():
            return False
        signature.compute_integrity_info(diff_policy=SIGNED_DOCUMENT_POLICY)
        coverage = signature.coverage
        if coverage == SignatureCoverageLevel.ENTIRE_REVISION:
            level = getattr(signature.diff_result, "modification_level", None)
            if level is None or level > ModificationLevel.LTA_UPDATES:
                return False
        elif coverage != SignatureCoverageLevel.ENTIRE_FILE:
            return False
        intact, valid = validate_sig_integrity(
            signature.signer_info, signature.signer_cert, "data", signature.compute_digest()
        )
        return bool(intact and valid)
    return False
