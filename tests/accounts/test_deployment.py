"""A deployment refuses placeholder secrets; the data directory is the service user's alone;
the compose file ships no secret."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from motcua.checks import database_password_problem, placeholder_secrets

ROOT = Path(__file__).resolve().parents[2]
MOTCUA = [sys.executable, "-m", "motcua"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env.update(MOTCUA_DATA_DIR=str(tmp_path / "service"), **extra)
    return env


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"MOTCUA_SECRET_KEY": "change-me-in-production"}, "motcua.E001"),
        ({"MOTCUA_SECRET_KEY": "abc123"}, "motcua.E001"),
        (
            {"MOTCUA_DATABASE_URL": "postgres://motcua:motcua@127.0.0.1:9/motcua"},
            "motcua.E002",
        ),
    ],
    ids=["sample-key", "short-key", "default-db-password"],
)
def test_the_web_role_refuses_to_start_with_a_placeholder(
    tmp_path: Path, extra: dict[str, str], error: str
) -> None:
    """``motcua web`` stops before serving, saying in Vietnamese what to change."""
    result = subprocess.run(
        [*MOTCUA, "web", "--port", "9"],
        cwd=ROOT,
        env=_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert error in result.stderr and (
        "Khóa bí mật" in result.stderr or "Mật khẩu" in result.stderr
    )


def test_a_generated_key_and_a_strong_password_pass() -> None:
    """The key motcua makes itself and a random database password raise nothing; debug runs
    of a developer are not held up."""
    assert placeholder_secrets() == []  # this process's own generated key, SQLite
    strong = {"USER": "motcua", "PASSWORD": "q8Vd3kLz0pW7rT2mYx9sN4bC"}
    assert database_password_problem(strong) == ""
    assert database_password_problem({"USER": "motcua", "PASSWORD": "motcua"})
    with override_settings(SECRET_KEY="change-me-in-production", DEBUG=True):
        assert placeholder_secrets() == []


def test_setup_makes_the_data_directory_private(tmp_path: Path) -> None:
    """``motcua setup``: the data directory, its folders, the SQLite database and the secret
    key are readable by the service's user alone, whatever the caller's umask."""
    env = _env(tmp_path)
    result = subprocess.run(
        [*MOTCUA, "setup"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    data = tmp_path / "service"

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(data) == 0o700
    for folder in ("store", "log", "inbox", "run"):
        assert mode(data / folder) & 0o077 == 0, folder
    for private in ("motcua.sqlite3", "secret_key"):
        assert mode(data / private) == 0o600, private


def test_the_compose_file_ships_no_secret() -> None:
    """No fixed secret key nor database password: the password comes from docker/.env
    (compose stops with a clear message without it), the key is made at first start."""
    compose = (ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8")
    assert "change-me" not in compose
    assert re.search(r"POSTGRES_PASSWORD:\s*\$\{MOTCUA_DB_PASSWORD:\?", compose)
    assert re.search(r"postgres://motcua:\$\{MOTCUA_DB_PASSWORD:\?[^}]*\}@", compose)
    assert re.search(r"MOTCUA_SECRET_KEY:\s*\$\{MOTCUA_SECRET_KEY:-\}", compose)
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8")
