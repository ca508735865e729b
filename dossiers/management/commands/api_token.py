"""``api_token USER``: make (or revoke) a token of the import API for a clerk."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import BAD_INPUT
from dossiers.models import ApiToken, Role
from dossiers.services.access import has_role
from dossiers.services.api_tokens import revoke_tokens


class Command(BaseCommand):
    help = (
        "Tạo mã truy cập API nhập hồ sơ cho một cán bộ tiếp nhận (mã chỉ hiện một lần, "
        "hệ thống chỉ lưu mã băm), hoặc thu hồi mọi mã của người đó với --revoke."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="nhap-ho-so", help="hệ thống nào dùng mã này")
        parser.add_argument("--revoke", action="store_true", help="thu hồi mọi mã của người này")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"Không có người dùng {opts['username']}.", returncode=BAD_INPUT)
        if opts["revoke"]:
            count = revoke_tokens(user)
            self.stdout.write(f"Đã thu hồi {count} mã truy cập của {user.get_username()}.")
            return
        if not has_role(user, Role.CLERK):
            raise CommandError(
                f"{user.get_username()} không là cán bộ tiếp nhận của cơ quan nào; "
                "hãy giao vai trò trước khi tạo mã.",
                returncode=BAD_INPUT,
            )
        _, token = ApiToken.issue(user, opts["name"])
        self.stdout.write(token)
