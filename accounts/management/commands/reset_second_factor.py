"""``motcua manage reset_second_factor USER``: remove a person's authenticator (a lost phone)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services.second_factor import reset_second_factor
from core.errors import BAD_INPUT


class Command(BaseCommand):
    help = (
        "Xóa ứng dụng xác thực và mã dự phòng của một tài khoản (mất điện thoại); "
        "lần đăng nhập sau người đó cài đặt lại."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"Không có tài khoản {opts['username']}.", returncode=BAD_INPUT)
        removed = reset_second_factor(user)
        self.stdout.write(
            f"Đã xóa {removed} thiết bị xác thực của {user.get_username()}; "
            "người đó cài đặt lại ở lần đăng nhập sau."
        )
