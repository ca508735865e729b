"""Fixtures for the signing tests: a throwaway PKI, signer and document, loopback PKI services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyhanko.sign.signers import SimpleSigner

from signing.devpki import IssuedKey
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.stamp.text import StampText
from tests.support.pki import (
    TEST_OFFICE,
    TEST_PASSPHRASE,
    TEST_SIGNED_AT,
    TEST_SIGNER,
    make_test_pdf,
    make_test_pki,
)
from tests.support.testpki_services import PkiServices, running_pki_services


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> IssuedKey:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> IssuedKey:
    return make_test_pki(tmp_path_factory.mktemp("other-pki"), name="Kẻ Lạ", org="Nơi Khác")


@pytest.fixture(scope="session")
def signer(pki: IssuedKey) -> SimpleSigner:
    return load_pkcs12_signer(pki.pkcs12, TEST_PASSPHRASE)


@pytest.fixture(scope="session")
def unsigned_pdf() -> bytes:
    return make_test_pdf(pages=2)


@pytest.fixture(scope="session")
def visible_options() -> SignOptions:
    return SignOptions(
        stamp=StampText(signer_name=TEST_SIGNER, office_name=TEST_OFFICE, signed_at=TEST_SIGNED_AT)
    )


@pytest.fixture(scope="session")
def signed_pdf(unsigned_pdf: bytes, signer: SimpleSigner, visible_options: SignOptions) -> bytes:
    return sign_pdf(unsigned_pdf, signer, visible_options)


@pytest.fixture()
def trust(pki: IssuedKey) -> list[Path]:
    return [pki.ca_cert]


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PkiServices]:
    with running_pki_services(tmp_path_factory.mktemp("pki-services")) as running:
        yield running
