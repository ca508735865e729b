"""Fixtures of the publishing tests: signed results ready for delivery, a trusted CA, a server."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.test import override_settings
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks
from pytest_django.live_server_helper import LiveServer

from dossiers.files import store_bytes
from dossiers.models import Document, DocumentState, Dossier
from publishing.tasks import publish_document
from signing.devpki import IssuedKey
from tests.conftest import DataDirs, MakeDossier

MakeDocument = Callable[..., Document]
"""Makes a document of a new dossier; keywords go to ``make_dossier`` (email, phone …)."""


@pytest.fixture()
def make_signed(
    data_dirs: DataDirs, make_dossier: MakeDossier, signed_result: bytes
) -> MakeDocument:
    """Documents SIGNED with ``signed_result`` in the store, each of a new dossier."""

    def make(**dossier: str) -> Document:
        path, digest = store_bytes(signed_result, data_dirs.store)
        return Document.objects.create(
            dossier=make_dossier(**dossier).dossier,
            state=DocumentState.SIGNED,
            source_dir="",
            source_sha256="0" * 64,
            signed_path=str(path),
            signed_sha256=digest,
        )

    return make


@pytest.fixture()
def make_published(
    make_signed: MakeDocument, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> MakeDocument:
    """Documents published (dossier resolved, outbox written), their delivery not started."""

    def make(**dossier: str) -> Document:
        document = make_signed(**dossier)
        with django_capture_on_commit_callbacks(execute=False):
            publish_document(document.pk)
        document.refresh_from_db()
        assert document.state == DocumentState.PUBLISHED
        return document

    return make


def download_link(html: str) -> str:
    """The single-use download link on a lookup's result page."""
    match = re.search(r'href="(/tra-cuu/tai-ve/[^"]+/)"', html)
    assert match, "no download link on the page"
    return match.group(1)


@dataclass(frozen=True)
class Published:
    dossier: Dossier
    secret: str
    document: Document
    pdf: bytes


@pytest.fixture()
def published(
    data_dirs: DataDirs, make_dossier: MakeDossier, signed_result: bytes, clear_cache: None
) -> Published:
    """A resolved dossier whose signed result has been published."""
    registered = make_dossier()
    path, digest = store_bytes(signed_result, data_dirs.store)
    document = Document.objects.create(
        dossier=registered.dossier,
        state=DocumentState.PUBLISHED,
        source_sha256="0" * 64,
        signed_path=str(path),
        signed_sha256=digest,
    )
    Dossier.objects.filter(pk=registered.dossier.pk).update(
        status=Dossier.Status.RESOLVED, resolved_at=timezone.now()
    )
    registered.dossier.refresh_from_db()
    return Published(registered.dossier, registered.secret, document, signed_result)


@pytest.fixture()
def trusted(data_dirs: DataDirs, throwaway_pki: IssuedKey, clear_cache: None, db: None) -> DataDirs:
    """The data directory with the throwaway CA as the one trust root, and an empty cache."""
    shutil.copyfile(throwaway_pki.ca_cert, data_dirs.trust / "ca.pem")
    return data_dirs


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """An existing STATIC_ROOT for the live server (WhiteNoise warns about a missing one)."""
    with override_settings(STATIC_ROOT=tmp_path_factory.mktemp("static")):
        yield


@pytest.fixture()
def server(static_root: None, live_server: LiveServer) -> LiveServer:
    """The live server (threads of this process), started after ``static_root``."""
    return live_server
