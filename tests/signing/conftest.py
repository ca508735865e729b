"""Fixtures for the signing tests: keys, documents, PKI services, an office key, a signing agent.

A throwaway PKI, signer and document; loopback PKI services; an office's organisation key;
a running signing agent; the batch review's public address.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyhanko.sign.signers import SimpleSigner
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from core.pdfa.check import check_pdfa
from digitize.assemble import DossierMetadata, assemble_pdf
from digitize.ocr import OcrSettings, ocr_page
from digitize.pages import split_pages
from dossiers.models import Document, Dossier, Office
from signing.devpki import IssuedKey
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.models import AutoSignPolicy, OrganisationKey
from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.stamp.text import StampText
from tests.conftest import DataDirs, MakeAwaiting
from tests.support.pki import (
    TEST_OFFICE,
    TEST_PASSPHRASE,
    TEST_SIGNED_AT,
    TEST_SIGNER,
    make_test_pdf,
    make_test_pki,
)
from tests.support.review import PUBLIC
from tests.support.scans import corpus_paragraphs, write_scan
from tests.support.sign_agent import start_agent, stop_agent
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


# --- automatic signing with the office's organisation key --------------------------------------


@pytest.fixture(scope="module")
def org_pki(tmp_path_factory: pytest.TempPathFactory) -> IssuedKey:
    """The office's organisation certificate: its common name is the office's name."""
    return make_test_pki(tmp_path_factory.mktemp("org-pki"), name=TEST_OFFICE)


@pytest.fixture()
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "to-chuc.pass"
    path.parent.mkdir()
    path.write_bytes(TEST_PASSPHRASE + b"\n")
    path.chmod(0o600)
    return path


@pytest.fixture()
def org_key(office: Office, org_pki: IssuedKey, passphrase_file: Path) -> OrganisationKey:
    key = OrganisationKey(
        office=office, pkcs12_path=str(org_pki.pkcs12), passphrase_file=str(passphrase_file)
    )
    key.full_clean()
    key.save()
    return key


@pytest.fixture()
def auto_office(org_key: OrganisationKey, office: Office) -> AutoSignPolicy:
    """The office's inbox signs automatically, every procedure."""
    policy = AutoSignPolicy(office=office)
    policy.full_clean()
    policy.save()
    return policy


@pytest.fixture()
def digitized_with_tasks(
    data_dirs: DataDirs,
    eager_celery: None,
    make_awaiting: MakeAwaiting,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> MakeAwaiting:
    """Finish digitizing a document and run what its commit starts (the Celery tasks, eager).

    The automatic-signing modules bind it to ``digitized``, a name this folder already gives
    to one digitized PDF (for the signed PDF/A tests).
    """

    def make(dossier: Dossier) -> Document:
        with django_capture_on_commit_callbacks(execute=True):
            document = make_awaiting(dossier)
        document.refresh_from_db()
        return document

    return make


# --- the signing agent ------------------------------------------------------------------------


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture()
def agent(data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    running = start_agent(data_dir)
    yield running
    if running.poll() is None:
        stop_agent(running)


@pytest.fixture()
def job(
    tmp_path: Path, unsigned_pdf: bytes, pki: IssuedKey, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """A PDF to sign in a folder of its own, the caller's working folder."""
    src = tmp_path / "ho so" / "ket-qua.pdf"
    src.parent.mkdir()
    src.write_bytes(unsigned_pdf)
    monkeypatch.chdir(src.parent)
    return {"src": src, "out": tmp_path / "da-ky" / "ket-qua.pdf", "p12": pki.pkcs12}


# --- the official's batch review --------------------------------------------------------------


@pytest.fixture()
def public_url(settings: Settings) -> None:
    """The service's public address, for the batch review modules (``usefixtures``)."""
    settings.PUBLIC_BASE_URL = PUBLIC
