"""The layers as a contract: every module is covered, and a new upward import fails the build."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]
PACKAGES = CONFIG["root_packages"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
DJANGO_PLACES = {
    "models",
    "tasks",
    "views",
    "admin",
    "apps",
    "management",
    "migrations",
    "services",
    "middleware",
}
"""Where Django-aware code lives in a package; everything else there is a pure core."""


def _contract(contract_id: str) -> dict[str, object]:
    return next(c for c in CONFIG["contracts"] if c["id"] == contract_id)


def _modules(package: str) -> list[str]:
    """Dotted names of the package's modules (``__init__`` as the package itself)."""
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _imports(module: str) -> set[str]:
    """Top-level names of everything the module imports, at any depth of its code."""
    path = ROOT / Path(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def _in_django_place(module: str) -> bool:
    return bool(set(module.split(".")[1:]) & DJANGO_PLACES)


def test_every_pipeline_module_is_a_pure_core_or_in_a_django_place() -> None:
    """Each module of core, digitize, signing and audit is under the pure-cores contract or
    is Django-aware by its place (models, tasks, views, admin, apps, management, services)."""
    pure = _contract("pure-cores")["source_modules"]
    assert isinstance(pure, list)
    uncovered = [
        module
        for package in ("core", "digitize", "signing", "audit")
        for module in _modules(package)
        if module not in ("digitize", "signing", "audit")
        and not _in_django_place(module)
        and not any(module == p or module.startswith(f"{p}.") for p in pure)
    ]
    assert uncovered == [], "add these to the pure-cores contract, or move them"


def test_django_and_celery_live_only_in_their_places() -> None:
    """Outside the project package, only models, tasks, views, admin, apps, management and
    the service layer import Django or Celery."""
    offenders = [
        module
        for package in PACKAGES
        if package != "motcua"
        for module in _modules(package)
        if _imports(module) & {"django", "celery", "kombu"} and not _in_django_place(module)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("dossiers/calendar.py", "from motcua import settings"),
        ("dossiers/models/records.py", "from digitize import tasks"),
        ("digitize/pages.py", "from signing.errors import SigningError"),
        ("signing/pades/sign.py", "from django.conf import settings"),
        ("core/files.py", "from dossiers import files"),
    ],
)
def test_the_contracts_fail_on_a_new_upward_import(
    tmp_path: Path, module: str, upward: str
) -> None:
    """A copy of the tree with one import against the layers fails ``lint-imports``."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{upward}\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout


def test_the_tree_as_it_is_keeps_every_contract() -> None:
    """``lint-imports`` on the repository itself keeps all contracts (as CI runs it)."""
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
    assert f"Contracts: {len(CONFIG['contracts'])} kept, 0 broken." in result.stdout


def _loaded_after(code: str) -> set[str]:
    """Top-level modules loaded by a fresh interpreter after running ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "motcua.settings"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


HEAVY = {"pyhanko", "pkcs11", "fontTools", "PIL", "tesserocr", "numpy", "reportlab", "celery"}
"""Libraries a process pays for only when it signs, draws, recognises or sends tasks."""


def test_django_setup_loads_no_signing_ocr_or_queue_library(tmp_path: Path) -> None:
    """Starting Django (every command, the admin, the web) loads none of the heavy libraries."""
    loaded = _loaded_after(
        f"import os; os.environ['MOTCUA_DATA_DIR'] = {str(tmp_path)!r}\n"
        "import django; django.setup()"
    )
    assert "django" in loaded
    assert loaded & HEAVY == set()


def test_the_command_line_parses_before_importing_django() -> None:
    """``motcua --help`` answers without loading Django or any heavy library."""
    loaded = _loaded_after(
        "from motcua.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert "motcua" in loaded
    assert loaded & (HEAVY | {"django"}) == set()
