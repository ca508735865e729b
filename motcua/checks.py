"""Start-up checks: a deployment refuses to run with a placeholder secret key or password."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register, run_checks

__all__ = ["database_password_problem", "placeholder_secrets", "refuse_placeholders"]

PLACEHOLDER_WORDS = ("change", "placeholder", "example", "insecure", "secret", "default")
"""Words that give away a value copied from documentation or a sample file."""
WEAK_PASSWORDS = frozenset(
    {"motcua", "postgres", "password", "passw0rd", "admin", "root", "123456", "12345678", "test"}
)
MIN_SECRET_KEY = 32


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(word in lowered for word in PLACEHOLDER_WORDS)


def _secret_key_problem(key: str) -> str:
    if len(key) < MIN_SECRET_KEY:
        return f"ngắn hơn {MIN_SECRET_KEY} ký tự"
    if _placeholder(key) or key.startswith("django-insecure"):
        return "là giá trị mẫu"
    return ""


def database_password_problem(database: dict[str, Any]) -> str:
    """Why a database's password is a placeholder ("" when it is not or there is none)."""
    password = str(database.get("PASSWORD") or "")
    if not password:
        return ""  # no password: peer or certificate authentication on the server's side
    if password.lower() in WEAK_PASSWORDS or password == str(database.get("USER") or ""):
        return "là mật khẩu mặc định dễ đoán"
    if _placeholder(password):
        return "là giá trị mẫu"
    return ""


@register(Tags.security)
def placeholder_secrets(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Errors for a placeholder SECRET_KEY or database password (not in debug mode)."""
    if settings.DEBUG:
        return []
    errors: list[CheckMessage] = []
    problem = _secret_key_problem(str(settings.SECRET_KEY))
    if problem:
        errors.append(
            Error(
                f"Khóa bí mật (MOTCUA_SECRET_KEY) {problem}: ai biết nó có thể giả phiên "
                "đăng nhập. Bỏ biến này để motcua tự tạo khóa trong thư mục dữ liệu, hoặc đặt "
                "một chuỗi ngẫu nhiên dài (python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(50))').",
                id="motcua.E001",
            )
        )
    for alias, database in settings.DATABASES.items():
        problem = database_password_problem(database)
        if problem:
            errors.append(
                Error(
                    f"Mật khẩu cơ sở dữ liệu '{alias}' (MOTCUA_DATABASE_URL) {problem}. "
                    "Đặt một mật khẩu ngẫu nhiên cho tài khoản PostgreSQL và trong "
                    "MOTCUA_DATABASE_URL.",
                    id="motcua.E002",
                )
            )
    return errors


def refuse_placeholders() -> int:
    """Before a service role or set-up starts: print the errors above and return 2, else 0."""
    errors = [m for m in run_checks(tags=[Tags.security]) if m.is_serious()]
    for error in errors:
        print(f"lỗi ({error.id}): {error.msg}", file=sys.stderr)
    return 2 if errors else 0
