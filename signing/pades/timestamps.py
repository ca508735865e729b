"""RFC 3161 timestamps: the TSA client and checking its tokens."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from asn1crypto import cms, tsp
from cryptography.hazmat.primitives import hashes
from pyhanko.sign.general import (
    CMSExtractionError,
    extract_certificate_info,
    find_cms_attribute_iter,
)
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "signature_timestamp_tokens",
    "timestamper_for",
    "token_is_sound",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
"""How long one request to a TSA, OCSP responder or CRL server may take."""


def timestamper_for(
    source: TimeStamper | str, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> TimeStamper:
    """Return ``source`` itself or an RFC 3161 HTTP client for the URL ``source``.

    Clients for a URL are kept per process, so the size estimate pyHanko asks
    the TSA for is fetched once and a batch makes one request per document.
    """
    if isinstance(source, TimeStamper):
        return source
    return _http_timestamper(source, timeout_s)


@functools.lru_cache(maxsize=8)
def _http_timestamper(url: str, timeout_s: float) -> TimeStamper:
    if not url.startswith(("http://", "https://")):
        raise ValueError("a timestamp authority URL must be http:// or https://")
    return HTTPTimeStamper(url, timeout=timeout_s)


def signature_timestamp_tokens(signer_info: cms.SignerInfo) -> list[cms.SignedData]:
    """Return the SignedData of every RFC 3161 signature timestamp in ``signer_info``."""
    try:
        attrs = signer_info["unsigned_attrs"]
        return [
            token["content"]
            for token in find_cms_attribute_iter(attrs, "signature_time_stamp_token")
        ]
    except (CMSExtractionError, KeyError, ValueError, TypeError):
        return []


def token_is_sound(token: cms.SignedData, imprint: Callable[[str], bytes]) -> bool:
    """Check a timestamp token stamps the expected data and its TSA signature is intact.

    ``imprint`` maps a hash algorithm name to the digest the token must carry.
    This does not check that the TSA is trusted; verification does that.
    """
    info = _tst_info(token)
    if info is None:
        return False
    try:
        message_imprint = info["message_imprint"]
        algorithm = message_imprint["hash_algorithm"]["algorithm"].native
        if message_imprint["hashed_message"].native != imprint(algorithm):
            return False
        signer_info = token["signer_infos"][0]
        cert = extract_certificate_info(token).signer_cert
        content = bytes(token["encap_content_info"]["content"])
        md_name = signer_info["digest_algorithm"]["algorithm"].native
        hasher = hashes.Hash(get_pyca_cryptography_hash(md_name))
        hasher.update(content)
        digest = hasher.finalize()
        intact, valid = validate_sig_integrity(signer_info, cert, "tst_info", digest)
    except (CMSExtractionError, KeyError, IndexError, ValueError, TypeError, AttributeError):
        logger.info("timestamp token could not be checked", exc_info=True)
        return False
    return bool(intact and valid)


def _tst_info(token: cms.SignedData) -> tsp.TSTInfo | None:
    try:
        info = token["encap_content_info"]["content"].parsed
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    return info if isinstance(info, tsp.TSTInfo) else None
