"""PAdES evidence: revocation contexts, DSS data, the LTA revisions and what they may change."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import IndirectObjectExpected, PdfError
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.pdf_utils.rw_common import PdfHandler
from pyhanko.sign.diff_analysis import (
    DiffPolicy,
    ModificationLevel,
    ReferenceUpdate,
    StandardDiffPolicy,
)
from pyhanko.sign.diff_analysis.form_rules_api import FormUpdatingRule
from pyhanko.sign.diff_analysis.rules.file_structure_rules import (
    CatalogModificationRule,
    ObjectStreamRule,
    XrefStreamRule,
)
from pyhanko.sign.diff_analysis.rules.form_field_rules import (
    DSSCompareRule,
    GenericFieldModificationRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
)
from pyhanko.sign.diff_analysis.rules.metadata_rules import DocInfoRule, MetadataUpdateRule
from pyhanko.sign.signers.pdf_signer import PdfPostSignatureDocument, PdfTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers import OwnedFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from signing.pades.timestamps import DEFAULT_TIMEOUT_S

__all__ = [
    "SIGNED_DOCUMENT_POLICY",
    "MetadataKeepingWriter",
    "ValidationData",
    "append_evidence",
    "read_validation_data",
    "revocation_context",
]

logger = logging.getLogger(__name__)

_BOOKKEEPING_INFO = frozenset({"/ModDate", "/Producer"})
"""Info entries a timestamp or DSS update may rewrite (pyHanko updates both)."""

_BOOKKEEPING_XMP = frozenset(
    {
        "http://ns.adobe.com/xap/1.0/ModifyDate",
        "http://ns.adobe.com/xap/1.0/MetadataDate",
        "http://ns.adobe.com/pdf/1.3/Producer",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#about",
    }
)
"""XMP properties a timestamp or DSS update may rewrite (as expanded names)."""


def revocation_context(
    trust_roots: Sequence[asn1_x509.Certificate],
    *,
    other_certs: Sequence[asn1_x509.Certificate] = (),
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ValidationContext:
    """Return a validation context that fetches OCSP and CRL data and requires it.

    Meant for signing at B-LT and B-LTA: revocation checking is "hard-fail", so
    a signer certificate whose status cannot be learnt is not signed with, and
    what is fetched ends up in the document's DSS.
    """
    return ValidationContext(
        trust_roots=list(trust_roots),
        other_certs=list(other_certs),
        allow_fetching=True,
        revocation_mode="hard-fail",
        fetcher_backend=OwnedFetcherBackend(AIOHttpFetcherBackend(per_request_timeout=timeout_s)),
    )


@dataclass(frozen=True)
class ValidationData:
    """Certificates and revocation data found in a document's DSS (PAdES validation data)."""

    certs: tuple[asn1_x509.Certificate, ...] = ()
    """Certificates in the DSS."""

    ocsps: tuple[asn1_ocsp.OCSPResponse, ...] = ()
    """OCSP responses in the DSS."""

    crls: tuple[asn1_crl.CertificateList, ...] = ()
    """CRLs in the DSS."""

    @property
    def has_revinfo(self) -> bool:
        """True when the DSS holds any OCSP response or CRL."""
        return bool(self.ocsps or self.crls)

    def covers(self, cert: asn1_x509.Certificate) -> bool:
        """True when an OCSP response about ``cert`` or a CRL from its issuer is present."""
        issuer = cert.issuer
        name_hash = hashlib.sha1(issuer.dump(), usedforsecurity=False).digest()
        for response in self.ocsps:
            if _ocsp_mentions(response, cert.serial_number, issuer, name_hash):
                return True
        return any(_crl_issuer(crl) == issuer for crl in self.crls)


def read_validation_data(handler: PdfHandler) -> ValidationData:
    """Read the DSS of ``handler`` (a reader or one of its historical revisions).

    A document without a DSS, or with one that cannot be read, gives empty data.
    """
    try:
        dss = DocumentSecurityStore.read_dss(handler)
        return ValidationData(
            certs=tuple(dss.load_certs()),
            ocsps=tuple(
                asn1_ocsp.OCSPResponse.load(_stream_data(ref, DecodePurpose.OCSP_RESPONSE))
                for ref in dss.ocsps
            ),
            crls=tuple(
                asn1_crl.CertificateList.load(_stream_data(ref, DecodePurpose.CRL))
                for ref in dss.crls
            ),
        )
    except NoDSSFoundError:
        return ValidationData()
    except (PdfError, KeyError, ValueError, TypeError, AttributeError):
        logger.info("the DSS of the document could not be read", exc_info=True)
        return ValidationData()


def _stream_data(ref: generic.IndirectObject, purpose: DecodePurpose) -> bytes:
    stream = ref.get_object()  # type: ignore[no-untyped-call]  # unannotated upstream
    if not isinstance(stream, generic.StreamObject):
        raise TypeError("DSS entries must be streams")
    data: bytes = stream.read_data(purpose)
    return data


def _ocsp_mentions(
    response: asn1_ocsp.OCSPResponse, serial: int, issuer: asn1_x509.Name, name_hash: bytes
) -> bool:
    try:
        basic = response["response_bytes"]["response"].parsed
        for single in basic["tbs_response_data"]["responses"]:
            cert_id = single["cert_id"]
            if cert_id["serial_number"].native != serial:
                continue
            algorithm = cert_id["hash_algorithm"]["algorithm"].native
            expected = (
                name_hash if algorithm == "sha1" else hashlib.new(algorithm, issuer.dump()).digest()
            )
            if cert_id["issuer_name_hash"].native == expected:
                return True
    except (KeyError, ValueError, TypeError, AttributeError):
        return False
    return False


class MetadataKeepingWriter(IncrementalPdfFileWriter):
    """An incremental writer that leaves the document's Info and XMP metadata as they are.

    pyHanko's writer appends its own name to the Info /Producer, sets the XMP
    pdf:Producer to its name alone and re-serialises the XMP packet, so a PDF/A
    whose Info and XMP agreed (as digitize writes them) no longer does. Every
    revision signing appends (signature, DSS, document timestamp) is written by
    this writer; the signing time is the signature's own /M, a timestamp's its token's.
    """

    def _update_meta(self) -> None:
        return


async def append_evidence(output: IO[bytes], signed: PdfPostSignatureDocument) -> None:
    """Append the B-LT and B-LTA revisions after a signature, with metadata left alone.

    This is pyHanko's post-signing step written with :class:`MetadataKeepingWriter`:
    at B-LT one revision with the DSS (the certificates and revocation data
    collected before signing, the signature's VRI); at B-LTA that DSS goes into
    the revision of the document timestamp, which covers it. The timestamp
    authority's own data is in that DSS already (collected with the signer's),
    so no revision follows the document timestamp. Nothing is appended below B-LT.
    """
    instructions = signed.post_sign_instructions
    if instructions is None:
        return
    collected = instructions.validation_info
    writer = MetadataKeepingWriter(
        output, strict=instructions.strict, decode_limits=instructions.decode_limits
    )
    dss = DocumentSecurityStore.supply_dss_in_writer(
        writer,
        signed.sig_contents if instructions.dss_settings.include_vri else None,
        paths=collected.validation_paths,
        validation_context=signed.validation_context,
        ocsps=collected.ocsps_to_embed,
        crls=collected.crls_to_embed,
        embed_roots=instructions.embed_roots,
    )
    if instructions.timestamper is None:
        if dss.modified:
            writer.write_in_place()  # type: ignore[no-untyped-call]
        return
    stamper = PdfTimeStamper(instructions.timestamper, field_name=instructions.timestamp_field_name)
    await stamper.async_timestamp_pdf(
        writer,
        instructions.timestamp_md_algorithm or "sha256",
        in_place=True,
        tight_size_estimates=instructions.tight_size_estimates,
    )


class _InfoBookkeepingRule(DocInfoRule):
    """Let an update rewrite /Info only in its bookkeeping entries (ModDate, Producer)."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterator[ReferenceUpdate]:
        if _info_entries(old) != _info_entries(new):
            return  # left unexplained, so the diff analysis reports OTHER
        yield from super().apply(old, new)


class _XmpBookkeepingRule(MetadataUpdateRule):
    """Let an update rewrite the XMP stream only in its bookkeeping properties."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # unannotated upstream

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterator[ReferenceUpdate]:
        if _xmp_properties(old) != _xmp_properties(new):
            return
        yield from super().apply(old, new)


def _info_entries(resolver: HistoricalResolver) -> dict[str, str] | None:
    trailer = resolver.trailer_view
    try:
        ref = trailer.get_value_as_reference("/Info", optional=True)
    except IndirectObjectExpected:
        return None  # a direct /Info dictionary: nothing legitimate writes one
    if ref is None:
        return {}
    # resolve in this revision: the trailer's own references point at the newest one
    info = resolver.get_object(ref)
    if not isinstance(info, generic.DictionaryObject):
        return None
    return {
        str(key): str(value.get_object())
        for key, value in info.items()
        if str(key) not in _BOOKKEEPING_INFO
    }


def _xmp_properties(resolver: HistoricalResolver) -> dict[str, object] | None:
    stream = resolver.root.get("/Metadata")
    if stream is None:
        return {}
    stream = stream.get_object()
    if not isinstance(stream, generic.StreamObject):
        return None
    # lxml, which pyHanko's XMP parser needs, is imported when a diff is analysed,
    # not by every process that signs (a few hundredths of a second)
    from pyhanko.pdf_utils.metadata.xmp_xml import parse_xmp

    try:
        roots = parse_xmp(io.BytesIO(stream.data))
    except Exception:  # malformed XMP: MetadataUpdateRule reports it
        return None
    return {
        str(name): value
        for root in roots
        for name, value in root
        if str(name) not in _BOOKKEEPING_XMP
    }


SIGNED_DOCUMENT_POLICY: DiffPolicy = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),  # type: ignore[no-untyped-call]
        _InfoBookkeepingRule().as_qualified(ModificationLevel.LTA_UPDATES),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
        _XmpBookkeepingRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(
        field_rules=[
            SigFieldCreationRule(),  # type: ignore[no-untyped-call]
            SigFieldModificationRule(),
            GenericFieldModificationRule(),
        ],
    ),
)
"""pyHanko's default policy, except that /Info and XMP may change only in bookkeeping
fields: dossier metadata edited after signing counts as a modification."""


def _crl_issuer(crl: asn1_crl.CertificateList) -> asn1_x509.Name | None:
    try:
        issuer = crl["tbs_cert_list"]["issuer"]
    except (KeyError, ValueError, TypeError):
        return None
    return issuer if isinstance(issuer, asn1_x509.Name) else None
