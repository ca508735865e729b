"""Tests of PAdES B-B, B-T, B-LT and B-LTA against a loopback TSA, OCSP responder and CRL."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.errors import CertificateError, SigningError
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.pades.evidence import revocation_context
from signing.pades.levels import LEVELS, PadesLevel
from signing.pades.options import SignOptions
from signing.pades.sign import sign_file, sign_pdf
from signing.pades.timestamps import timestamper_for
from signing.stamp.text import StampText
from signing.verify.check import verify_pdf
from tests.support.pki import TEST_OFFICE, TEST_PASSPHRASE, TEST_SIGNER, make_test_pdf
from tests.support.testpki_services import REVOKED_SIGNER, PkiServices, free_loopback_url


@pytest.fixture(scope="module")
def signer(services: PkiServices) -> SimpleSigner:
    return load_pkcs12_signer(services.signer_p12, TEST_PASSPHRASE)


@pytest.fixture(scope="module")
def revoked_signer(services: PkiServices) -> SimpleSigner:
    return load_pkcs12_signer(services.revoked_signer_p12, TEST_PASSPHRASE)


@pytest.fixture(scope="module")
def document() -> bytes:
    return make_test_pdf(pages=2, title="QUYẾT ĐỊNH cấp giấy phép — ký nhiều mức")


def _options(services: PkiServices, level: PadesLevel, **changes: Any) -> SignOptions:
    options = SignOptions(
        stamp=StampText(signer_name=TEST_SIGNER, office_name=TEST_OFFICE),
        level=level,
        timestamper=services.tsa_url,
        validation_context=revocation_context([services.root]),
    )
    return dataclasses.replace(options, **changes)


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_signs_and_validates(
    level: PadesLevel, services: PkiServices, signer: SimpleSigner, document: bytes
) -> None:
    """Every level gives a trusted signature carrying exactly the evidence its level names."""
    signed = sign_pdf(document, signer, _options(services, level))
    assert signed.startswith(document)
    report = verify_pdf(signed, [services.trust_root])
    assert report.ok, report.to_dict()
    (sig,) = report.signatures
    assert sig.pades_level == level
    assert sig.signer == TEST_SIGNER
    assert sig.intact and sig.valid and sig.trusted and not sig.modified_after
    timestamped = level != "B-B"
    assert (sig.timestamp_time is not None) is timestamped
    assert sig.timestamp_valid is timestamped
    assert sig.timestamp_authority == ("motcua TEST TSA" if timestamped else "")
    long_term = level in ("B-LT", "B-LTA")
    assert sig.validation_data_embedded is long_term
    # offline: only embedded validation data can tell the revocation status
    assert sig.revocation == ("good" if long_term else "not_checked")
    assert sig.modification_level == ("LTA_UPDATES" if long_term else "NONE")
    assert sig.docmdp == 2
    stamps = report.document_timestamps
    assert len(stamps) == (1 if level == "B-LTA" else 0)
    for stamp in stamps:
        assert stamp.ok and stamp.authority == "motcua TEST TSA"
        assert stamp.time is not None and sig.timestamp_time is not None
        assert stamp.time >= sig.timestamp_time
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert data["signatures"][0]["pades_level"] == level
    assert len(data["document_timestamps"]) == len(stamps)
    (online,) = verify_pdf(signed, [services.trust_root], allow_fetching=True).signatures
    assert online.revocation == "good" and online.ok


def test_short_levels_fetch_no_revocation_data(
    services: PkiServices, signer: SimpleSigner, document: bytes
) -> None:
    """B-B and B-T never contact the OCSP responder or CRL server, even with a context given."""
    before = (services.hits("ocsp"), services.hits("crls"))
    sign_pdf(document, signer, _options(services, "B-B"))
    sign_pdf(document, signer, _options(services, "B-T"))
    assert (services.hits("ocsp"), services.hits("crls")) == before


def test_b_b_revocation_is_checked_when_fetching_is_allowed(
    services: PkiServices, signer: SimpleSigner, document: bytes
) -> None:
    """With fetching allowed, verification asks the OCSP responder and reports the status good."""
    signed = sign_pdf(document, signer, _options(services, "B-B"))
    before = services.hits("ocsp")
    (sig,) = verify_pdf(signed, [services.trust_root], allow_fetching=True).signatures
    assert sig.revocation == "good" and sig.ok
    assert services.hits("ocsp") > before


def test_revoked_signer_is_reported(
    services: PkiServices, revoked_signer: SimpleSigner, document: bytes
) -> None:
    """A signature by a revoked certificate verifies as revoked, not trusted and not ok."""
    signed = sign_pdf(document, revoked_signer, _options(services, "B-T"))
    report = verify_pdf(signed, [services.trust_root], allow_fetching=True)
    (sig,) = report.signatures
    assert sig.signer == REVOKED_SIGNER
    assert sig.intact and sig.valid and sig.timestamp_valid
    assert sig.revocation == "revoked"
    assert not sig.trusted and not sig.ok and not report.ok
    assert "thu hồi" in sig.summary_vi


def test_revoked_signer_cannot_sign_long_term(
    services: PkiServices, revoked_signer: SimpleSigner, document: bytes
) -> None:
    """At B-LT the revocation check before signing refuses a revoked certificate for good."""
    with pytest.raises(CertificateError) as info:
        sign_pdf(document, revoked_signer, _options(services, "B-LT"))
    assert info.value.disposition == "fail"
    assert "thu hồi" in info.value.message_vi


def test_unreachable_tsa_is_retried_and_nothing_is_written(
    services: PkiServices, signer: SimpleSigner, document: bytes, tmp_path: Path
) -> None:
    """A TSA refusing connections raises SigningError "retry" and leaves no output file."""
    src = tmp_path / "ket-qua.pdf"
    src.write_bytes(document)
    out = tmp_path / "ket-qua.signed.pdf"
    for level in ("B-T", "B-LT", "B-LTA"):
        options = _options(services, level, timestamper=free_loopback_url() + "/tsa")
        with pytest.raises(SigningError) as info:
            sign_file(src, out, signer, options)
        assert info.value.disposition == "retry"
        assert "dấu thời gian" in info.value.message_vi
    assert [p.name for p in tmp_path.iterdir()] == ["ket-qua.pdf"]


def test_tsa_failing_during_signing_is_retried(
    services: PkiServices, signer: SimpleSigner, document: bytes
) -> None:
    """A TSA that answered before but fails for this document also means retry."""
    sign_pdf(document, signer, _options(services, "B-T"))  # the size sample is now cached
    hits = services.hits("tsa")
    with services.outage("tsa"), pytest.raises(SigningError) as info:
        sign_pdf(document, signer, _options(services, "B-T"))
    assert info.value.disposition == "retry"
    assert "dấu thời gian" in info.value.message_vi
    assert services.hits("tsa") > hits


def test_unreachable_revocation_sources_are_retried(
    services: PkiServices, signer: SimpleSigner, document: bytes
) -> None:
    """Without an OCSP or CRL answer B-LT and B-LTA are not made at a lower level but retried."""
    for level in ("B-LT", "B-LTA"):
        with services.outage("ocsp", "crls"), pytest.raises(SigningError) as info:
            sign_pdf(document, signer, _options(services, level))
        assert info.value.disposition == "retry"
        assert "thu hồi" in info.value.message_vi


def test_lenient_context_does_not_lower_the_level(
    services: PkiServices, signer: SimpleSigner, document: bytes
) -> None:
    """A soft-fail context that fetched nothing still cannot yield a B-LT without its data."""
    lenient = ValidationContext(trust_roots=[services.root], allow_fetching=True)
    options = _options(services, "B-LT", validation_context=lenient)
    with services.outage("ocsp", "crls"), pytest.raises(SigningError) as info:
        sign_pdf(document, signer, options)
    assert info.value.disposition == "retry"
    assert "nhúng" in info.value.message_vi  # caught by the check of the DSS, not by pyHanko


def test_level_without_its_service_is_a_configuration_error(
    signer: SimpleSigner, document: bytes
) -> None:
    """A level missing its TSA or revocation context, or a bad TSA address, fails for a person."""
    with pytest.raises(SigningError) as no_tsa:
        sign_pdf(document, signer, SignOptions(level="B-T"))
    assert no_tsa.value.disposition == "fail" and "TSA" in no_tsa.value.message_vi
    with pytest.raises(SigningError) as no_revocation:
        sign_pdf(document, signer, SignOptions(level="B-LT", timestamper="http://127.0.0.1:9/"))
    assert no_revocation.value.disposition == "fail"
    assert "OCSP/CRL" in no_revocation.value.message_vi
    with pytest.raises(SigningError) as bad_url:
        sign_pdf(document, signer, SignOptions(level="B-T", timestamper="ftp://tsa.example/"))
    assert bad_url.value.disposition == "fail" and "TSA" in bad_url.value.message_vi


class _GrowingTimeStamper(TimeStamper):
    """A TSA client whose real tokens carry more certificates than its size sample."""

    def __init__(self, inner: TimeStamper, extra: list[Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.inner = inner
        self.extra = extra
        self.grown = 0

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        token = await self.inner.async_timestamp(message_digest, md_algorithm)
        if not self._dummy_response_cache:
            return token  # the size sample stays small
        signed_data = token["content"]
        certs = list(signed_data["certificates"]) + [
            cms.CertificateChoices(name="certificate", value=c) for c in self.extra
        ]
        signed_data["certificates"] = cms.CertificateSet(certs)
        self.grown += 1
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})


def test_token_larger_than_its_sample_still_fits(
    services: PkiServices, signer: SimpleSigner, document: bytes
) -> None:
    """The space reserved for the CMS blob holds a timestamp token much larger than sampled."""
    certs = [*signer.cert_registry, signer.signing_cert]
    growing = _GrowingTimeStamper(timestamper_for(services.tsa_url), extra=certs * 2)
    signed = sign_pdf(document, signer, _options(services, "B-T", timestamper=growing))
    assert growing.grown == 1
    (sig,) = verify_pdf(signed, [services.trust_root]).signatures
    assert sig.ok and sig.timestamp_valid and sig.pades_level == "B-T"


def test_signature_that_does_not_verify_is_not_returned(
    services: PkiServices, document: bytes, tmp_path: Path
) -> None:
    """A signer whose key does not match its certificate is caught by the check after signing."""
    key, _cert, _cas = pkcs12.load_key_and_certificates(
        services.revoked_signer_p12.read_bytes(), TEST_PASSPHRASE
    )
    assert key is not None
    good = load_pkcs12_signer(services.signer_p12, TEST_PASSPHRASE)
    assert good.signing_cert is not None
    mismatched = SimpleSigner(
        signing_cert=good.signing_cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore(),  # type: ignore[no-untyped-call]
    )
    with pytest.raises(SigningError) as info:
        sign_pdf(document, mismatched, SignOptions())
    assert info.value.disposition == "fail"
    assert "kiểm tra" in info.value.message_vi
    unchecked = sign_pdf(document, mismatched, SignOptions(check_after_signing=False))
    (sig,) = verify_pdf(unchecked, [services.trust_root]).signatures
    assert not sig.valid and not sig.ok
