"""Tests of the settings module: environment parsing, data directory layout and task routing."""

from __future__ import annotations

import importlib.util
import stat
from pathlib import Path
from types import ModuleType

import pytest
from django.conf import settings

import motcua.settings as live
from dossiers.models import DocumentState

ENV = (
    "MOTCUA_DATA_DIR",
    "MOTCUA_SECRET_KEY",
    "MOTCUA_BROKER_URL",
    "MOTCUA_DATABASE_URL",
    "MOTCUA_EMAIL_HOST",
    "MOTCUA_TASKS_EAGER",
    "MOTCUA_PUBLIC_URL",
)


def load_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """Execute a fresh copy of motcua/settings.py under the given environment."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("motcua_settings_copy", live.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_embedded_defaults_live_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a broker or database URL, SQLite, Redis socket and mail all sit in the data dir."""
    data = tmp_path / "du-lieu"
    s = load_settings(monkeypatch, MOTCUA_DATA_DIR=str(data), MOTCUA_PUBLIC_URL="https://x.vn/")
    root = data.resolve()
    assert root == s.DATA_DIR
    assert s.EMBEDDED is True
    assert f"redis+socket://{root}/run/redis.sock" == s.CELERY_BROKER_URL
    assert s.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s.DATABASES["default"]["NAME"] == data.resolve() / "motcua.sqlite3"
    assert s.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend"
    assert Path(s.EMAIL_FILE_PATH) == data.resolve() / "outbox" / "email"
    assert s.PUBLIC_BASE_URL == "https://x.vn"
    assert s.CELERY_TASK_ALWAYS_EAGER is False
    assert s.DEBUG is False


def test_secret_key_is_made_once_and_kept_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generated secret key is written 0600 in the data dir and reused on the next start."""
    first = load_settings(monkeypatch, MOTCUA_DATA_DIR=str(tmp_path))
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.SECRET_KEY) >= 50
    second = load_settings(monkeypatch, MOTCUA_DATA_DIR=str(tmp_path))
    assert second.SECRET_KEY == first.SECRET_KEY
    given = load_settings(monkeypatch, MOTCUA_DATA_DIR=str(tmp_path), MOTCUA_SECRET_KEY="k" * 60)
    assert given.SECRET_KEY == "k" * 60


def test_distributed_mode_uses_the_given_services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broker URL turns the embedded Redis off; a database URL replaces SQLite."""
    s = load_settings(
        monkeypatch,
        MOTCUA_DATA_DIR=str(tmp_path),
        MOTCUA_BROKER_URL="redis://redis:6379/0",
        MOTCUA_DATABASE_URL="postgres://motcua:pw@db:5432/motcua",
        MOTCUA_TASKS_EAGER="yes",
    )
    assert s.EMBEDDED is False
    assert s.CELERY_BROKER_URL == "redis://redis:6379/0"
    assert s.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert s.DATABASES["default"]["HOST"] == "db"
    assert s.CELERY_TASK_ALWAYS_EAGER is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), (" YES ", True), ("on", True), ("0", False), ("no", False)],
)
def test_env_bool(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    """Boolean switches accept the usual spellings, case and spaces aside."""
    monkeypatch.setenv("MOTCUA_TEST_FLAG", raw)
    assert live._env_bool("MOTCUA_TEST_FLAG", not expected) is expected


def test_env_bool_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unset switch takes its default."""
    monkeypatch.delenv("MOTCUA_TEST_FLAG", raising=False)
    assert live._env_bool("MOTCUA_TEST_FLAG", True) is True


def test_stage_limits_name_real_states() -> None:
    """Every stage the scheduled recoveries watch is a document state."""
    assert set(settings.STAGE_LIMITS_S) <= set(DocumentState.values)


def test_routes_and_schedule_name_registered_tasks() -> None:
    """Each routed task and each stage's scheduled recovery exist; routes use declared queues."""
    import digitize.tasks
    from motcua.celery import app

    app.loader.import_default_modules()  # what a worker loads: every app's tasks module
    for name, route in settings.CELERY_TASK_ROUTES.items():
        assert route["queue"] in settings.TASK_QUEUES
        if "*" not in name:
            assert name in app.tasks, name
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "digitize.tasks.recover_digitizing",
        "signing.tasks.recover_signing",
        "publishing.tasks.recover_publishing",
        # the lease sweeps: a dead worker's units back in line within seconds
        "digitize.tasks.recover_leases",
        "signing.tasks.recover_signing_leases",
        # the office heads' figures: closed months stored ahead of their views
        "backoffice.tasks.store_statistics",
    } | ({"dossiers.tasks.watch_deadlines"} & scheduled)
    assert scheduled <= set(app.tasks)
    assert digitize.tasks.ocr_page.name == "digitize.tasks.ocr_page"
