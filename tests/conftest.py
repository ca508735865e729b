"""Shared fixtures: a private data directory, eager Celery, offices, dossiers and a test key."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.dispatch import receiver
from django.test import Client, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from pyhanko.sign.signers import SimpleSigner
from pytest_django import Settings

# The Celery app is current before any test patches a task (as in a worker): a shared
# task's proxy binds to the app current when first used, so a patch made earlier would
# land on a default app's copy of the task that nothing sends through.
import motcua.celery  # noqa: F401
from dossiers.files import store_bytes
from dossiers.models import Document, DocumentState, Dossier, Membership, Office, Procedure, Role
from dossiers.services.registry import Registered, register_dossier
from dossiers.services.workflow import transition
from signing.devpki import IssuedKey
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.models import Signer
from signing.pades.sign import sign_pdf
from tests.support.pki import TEST_PASSPHRASE, make_test_pdf, make_test_pki


@receiver(connection_created)
def _no_read_locks_in_shared_memory(connection: BaseDatabaseWrapper, **_: object) -> None:
    """The test database is SQLite in memory with a shared cache, where a reader's table
    lock makes another thread's write fail at once ("database table is locked": no busy
    timeout applies to shared-cache locks). A live server's request thread polling a
    batch while the background signing thread records its progress hit that. Readers
    that take no read locks (read-uncommitted, honoured only in shared-cache mode) leave
    writers alone; the file database of a real deployment (WAL) never shares a cache."""
    if isinstance(connection, SQLiteWrapper) and connection.is_in_memory_db():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")


@dataclass(frozen=True)
class DataDirs:
    """The folders of a throwaway data directory, as the settings point at them."""

    root: Path
    inbox: Path
    intake: Path
    work: Path
    store: Path
    failed: Path
    outbox: Path
    run: Path
    log: Path
    pki: Path
    trust: Path


@pytest.fixture()
def data_dirs(settings: Settings, tmp_path: Path) -> DataDirs:
    """Point every MOTCUA data folder at a fresh directory under ``tmp_path``."""
    root = tmp_path / "data"
    dirs = DataDirs(
        root=root,
        inbox=root / "inbox",
        intake=root / "intake",
        work=root / "work",
        store=root / "store",
        failed=root / "failed",
        outbox=root / "outbox",
        run=root / "run",
        log=root / "log",
        pki=root / "pki",
        trust=root / "pki" / "trust",
    )
    settings.DATA_DIR = dirs.root
    settings.INBOX_DIR = dirs.inbox
    settings.INTAKE_DIR = dirs.intake
    settings.WORK_DIR = dirs.work
    settings.STORE_DIR = dirs.store
    settings.FAILED_DIR = dirs.failed
    settings.OUTBOX_DIR = dirs.outbox
    settings.RUN_DIR = dirs.run
    settings.LOG_DIR = dirs.log
    settings.PKI_DIR = dirs.pki
    settings.TRUST_DIR = dirs.trust
    settings.STATIC_ROOT = root / "static"
    settings.REDIS_SOCKET = dirs.run / "redis.sock"
    # STATIC_ROOT must exist: WhiteNoise warns (an error here) when serving from a missing one.
    for path in (
        dirs.inbox,
        dirs.intake,
        dirs.work,
        dirs.store,
        dirs.failed,
        dirs.trust,
        root / "static",
    ):
        path.mkdir(parents=True, exist_ok=True)
    return dirs


@pytest.fixture()
def eager_celery() -> Iterator[None]:
    """Run Celery tasks in-process at ``.delay()``, propagating their errors; restored after."""
    from motcua.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture(scope="session", autouse=True)
def local_cache() -> Iterator[None]:
    """Unit tests use a per-process memory cache, not the private Redis of ``motcua run``
    (tests/publishing/test_throttle_redis.py starts a Redis of its own where one is needed)."""
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ):
        yield


@pytest.fixture(autouse=True)
def root_log_handlers() -> Iterator[None]:
    """Each test ends with the logging it started with. A command run in a test sets logging
    up again (Django's set-up), onto that test's captured stderr; left in place, the next
    tests' log lines would go to a stream the capture has closed."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache: counts kept by id there (wrong passphrases per
    signer) must not pass to the next test's rows, which may reuse the same ids."""
    cache.clear()
    yield


def sign_in(client: Client, user: User) -> None:
    """Sign ``user`` in on ``client``; for a person who must prove a second factor
    (official, administrator, superuser), as after a right code from their authenticator."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture()
def clear_cache() -> Iterator[None]:
    """Start and end with an empty cache (the lookup throttle lives there)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture()
def office(db: None) -> Office:
    return Office.objects.create(code="xa-thu", name="UBND xã Thử Nghiệm")


@pytest.fixture()
def other_office(db: None) -> Office:
    return Office.objects.create(code="xa-khac", name="UBND xã Bên Cạnh")


@pytest.fixture()
def procedure(office: Office) -> Procedure:
    return Procedure.objects.create(
        office=office, code="HT-KHAISINH", name="Đăng ký khai sinh", limit_working_days=3
    )


MakeDossier = Callable[..., Registered]


@pytest.fixture()
def make_dossier(office: Office, procedure: Procedure) -> MakeDossier:
    """Register dossiers of ``office``/``procedure``; keywords override the defaults."""
    counter = iter(range(1, 10_000))

    def make(
        code: str | None = None,
        *,
        email: str = "binh@example.vn",
        phone: str = "",
        received_at: datetime | None = None,
    ) -> Registered:
        return register_dossier(
            code=code or f"000.00.21.H26-261122-{next(counter):04d}",
            office=office,
            procedure=procedure,
            applicant_name="Trần Thị Bình",
            email=email,
            phone=phone,
            received_at=received_at,
        )

    return make


@pytest.fixture()
def dossier(make_dossier: MakeDossier) -> Dossier:
    return make_dossier().dossier


@pytest.fixture(scope="session")
def throwaway_pki(tmp_path_factory: pytest.TempPathFactory) -> IssuedKey:
    """A development CA and one signer key (passphrase TEST_PASSPHRASE) for the session."""
    return make_test_pki(tmp_path_factory.mktemp("throwaway-pki"))


@pytest.fixture(scope="session")
def signing_key(throwaway_pki: IssuedKey) -> SimpleSigner:
    return load_pkcs12_signer(throwaway_pki.pkcs12, TEST_PASSPHRASE)


@pytest.fixture(scope="session")
def result_pdf() -> bytes:
    """A small unsigned PDF standing in for an assembled result."""
    return make_test_pdf(pages=1)


@pytest.fixture(scope="session")
def signed_result(result_pdf: bytes, signing_key: SimpleSigner) -> bytes:
    """``result_pdf`` signed (invisibly) with the throwaway key."""
    return sign_pdf(result_pdf, signing_key)


def make_signing_member(office: Office, pki: IssuedKey, username: str, role: Role) -> User:
    """A user holding ``role`` in ``office`` who signs with ``pki``'s key (no password:
    tests log in with force_login)."""
    user = User.objects.create_user(username)
    Signer.objects.create(
        user=user,
        office=office,
        display_name="Nguyễn Văn An",
        title="Chủ tịch UBND xã",
        pkcs12_path=str(pki.pkcs12),
    )
    Membership.objects.create(user=user, office=office, role=role)
    return user


@pytest.fixture()
def official(office: Office, throwaway_pki: IssuedKey) -> User:
    """A user who signs for ``office`` with the throwaway key."""
    return make_signing_member(office, throwaway_pki, "lanhdao", Role.OFFICIAL)


@pytest.fixture()
def head(office: Office, throwaway_pki: IssuedKey) -> User:
    """The office's head, who signs letters with the throwaway key."""
    return make_signing_member(office, throwaway_pki, "thutruong", Role.HEAD)


@pytest.fixture()
def clerk(office: Office) -> User:
    """A clerk of the one-stop desk of ``office``."""
    user = User.objects.create_user("vanthu")
    Membership.objects.create(user=user, office=office, role=Role.CLERK)
    return user


MakeAwaiting = Callable[[Dossier], Document]


@pytest.fixture()
def make_awaiting(data_dirs: DataDirs, result_pdf: bytes) -> MakeAwaiting:
    """Create documents that went through digitizing and now await approval (joining a batch)."""
    count = iter(range(1, 10_000))

    def make(dossier: Dossier) -> Document:
        # Distinct bytes per document, so each has its own store path and hash.
        pdf = result_pdf + f"\n% tai lieu {next(count)}\n".encode()
        path, digest = store_bytes(pdf, data_dirs.store)
        document = Document.objects.create(
            dossier=dossier,
            state=DocumentState.DIGITIZING,
            source_dir=str(data_dirs.intake / "none"),
            source_sha256="0" * 64,
            page_count=1,
        )
        assert transition(
            document.pk,
            DocumentState.DIGITIZING,
            DocumentState.AWAITING_APPROVAL,
            kind="digitized",
            pdf_path=str(path),
            pdf_sha256=digest,
        )
        document.refresh_from_db()
        return document

    return make
