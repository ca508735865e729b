"""Fixtures for the signing tests: a throwaway PKI, signer and document, loopback PKI services."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyhanko.sign.signers import SimpleSigner

from core.pdfa.check import check_pdfa
from digitize.assemble import DossierMetadata, assemble_pdf
from digitize.ocr import OcrSettings, ocr_page
from digitize.pages import split_pages
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
from tests.support.scans import corpus_paragraphs, write_scan
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


@pytest.fixture(scope="session")
def digitized(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One scanned page through OCR and PDF/A assembly, with a dossier's metadata."""
    root = tmp_path_factory.mktemp("pdfa-ky")
    scans = root / "scans"
    scans.mkdir()
    write_scan(scans / "1.png", corpus_paragraphs(1, seed=7, max_chars=200)[0], dpi=150, mode="L")
    pages = split_pages(sorted(scans.iterdir()), root / "work")
    ocrs = [ocr_page(page, root / "ocr", OcrSettings()) for page in pages]
    out = root / "ho-so.pdf"
    metadata = DossierMetadata(
        code="000.00.07.H29-250312-0042",
        office=TEST_OFFICE,
        procedure="Đăng ký khai sinh",
        applicant="Trần Thị Bích Ngọc",
        received_at=datetime(2025, 3, 12, 1, 30, tzinfo=UTC),
    )
    assemble_pdf(list(zip(pages, ocrs, strict=True)), out, metadata)
    data = out.read_bytes()
    assert check_pdfa(data) == []
    return data
