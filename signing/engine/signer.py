"""A signer wrapper that pays once per batch what pyHanko would pay for every document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from asn1crypto import tsp
from pyhanko.sign.attributes import CMSAttributeProvider, SigningCertificateV2Provider
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers import Signer
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

__all__ = [
    "BatchSigner",
]


class BatchSigner(Signer):
    """Wraps a loaded signer to reuse, across a batch, what does not change per document.

    pyHanko rebuilds and re-encodes the signing-certificate-v2 attribute (the
    certificate's hash, issuer and serial) for every signature, works out the
    signature mechanism from the key several times a signature, and makes a
    dry-run signature of every document to size the space it reserves; all of it
    depends only on the signer and the kind of signature. This wrapper keeps the
    encoded attribute, the mechanism and the dry-run container of the first
    document and serves them again. The raw signature itself is always made by
    the wrapped signer.
    """

    def __init__(self, inner: Signer) -> None:
        super().__init__(
            prefer_pss=inner.prefer_pss,
            embed_roots=inner.embed_roots,
            signature_mechanism=inner.signature_mechanism,
            signing_cert=inner.signing_cert,
            cert_registry=inner.cert_registry,
            attribute_certs=inner.attribute_certs,
        )
        self.signed_attr_prov_spec = inner.signed_attr_prov_spec
        self.unsigned_attr_prov_spec = inner.unsigned_attr_prov_spec
        self._inner = inner
        self._dry_runs: dict[tuple[object, ...], Any] = {}
        self._mechanisms: dict[str | None, Any] = {}
        cert = inner.signing_cert
        self._cert_der = b"" if cert is None else cert.dump()
        self._signing_cert_attr = (
            b"" if cert is None else as_signing_certificate_v2(cert).dump(force=True)
        )

    def get_signature_mechanism_for_digest(self, digest_algorithm: str | None) -> Any:
        # worked out from the key on every call by pyHanko, several times a signature
        mechanism = self._mechanisms.get(digest_algorithm)
        if mechanism is None:
            mechanism = self._inner.get_signature_mechanism_for_digest(digest_algorithm)
            self._mechanisms[digest_algorithm] = mechanism
        return mechanism

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        signature: bytes = await self._inner.async_sign_raw(data, digest_algorithm, dry_run)
        return signature

    async def async_sign(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run: bool = False,
        use_pades: bool = False,
        timestamper: Any = None,
        signed_attr_settings: PdfCMSSignedAttributes | None = None,
        is_pdf_sig: bool = True,
        encap_content_info: Any = None,
    ) -> Any:
        def sign(dry: bool) -> Any:
            return super(BatchSigner, self).async_sign(
                data_digest,
                digest_algorithm,
                dry_run=dry,
                use_pades=use_pades,
                timestamper=timestamper,
                signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig,
                encap_content_info=encap_content_info,
            )

        if not dry_run:
            return await sign(False)
        # what the size of a dry-run container depends on, besides the signer
        revinfo = getattr(signed_attr_settings, "adobe_revinfo_attr", None)
        key = (
            digest_algorithm,
            use_pades,
            is_pdf_sig,
            encap_content_info is not None,
            None if timestamper is None else (type(timestamper), getattr(timestamper, "url", None)),
            None if revinfo is None else len(revinfo.dump()),
            repr(getattr(signed_attr_settings, "cades_signed_attrs", None)),
        )
        cached = self._dry_runs.get(key)
        if cached is None:
            cached = await sign(True)
            cached.dump()  # encoded once; pyHanko only measures its length
            self._dry_runs[key] = cached
        return cached

    def _signed_attr_provider_spec(self, *args: Any, **kwargs: Any) -> Any:
        spec = super()._signed_attr_provider_spec(*args, **kwargs)
        if not self._signing_cert_attr:
            return spec
        return _PreEncodedCertAttr(spec, self._cert_der, self._signing_cert_attr)


class _PreEncodedCertAttr:
    """Signed-attribute providers with the signing-certificate attribute pre-encoded."""

    def __init__(self, inner: Any, cert_der: bytes, attr_der: bytes) -> None:
        self._inner = inner
        self._cert_der = cert_der
        self._attr_der = attr_der

    def signed_attr_providers(
        self, data_digest: bytes, digest_algorithm: str
    ) -> Iterator[CMSAttributeProvider]:
        for provider in self._inner.signed_attr_providers(
            data_digest=data_digest, digest_algorithm=digest_algorithm
        ):
            if (
                type(provider) is SigningCertificateV2Provider
                and provider.signing_cert.dump() == self._cert_der
            ):
                yield _FixedAttribute(provider.attribute_type, self._attr_der)
            else:
                yield provider


class _FixedAttribute(CMSAttributeProvider):
    """An attribute provider returning a value parsed lazily from its DER encoding."""

    def __init__(self, attribute_type: str, der: bytes) -> None:
        self.attribute_type = attribute_type
        self._der = der

    async def build_attr_value(self, dry_run: bool = False) -> Any:
        # parsed lazily, so encoding it again costs nothing
        return tsp.SigningCertificateV2.load(self._der)
