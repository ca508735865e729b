"""Who works where: a person's roles in the offices they belong to."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from dossiers.models.offices import Office


class Role(models.TextChoices):
    """What a person does in an office; a person may hold several roles in several offices."""

    CLERK = "clerk", "Cán bộ tiếp nhận (một cửa)"
    OFFICIAL = "official", "Lãnh đạo ký duyệt"
    HEAD = "head", "Thủ trưởng cơ quan"
    ADMIN = "admin", "Quản trị viên"


class Membership(models.Model):
    """One role of one person in one office (and, for an administrator, its subordinates)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name="người dùng",
    )
    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="memberships", verbose_name="cơ quan"
    )
    role = models.CharField("vai trò", max_length=16, choices=Role.choices)
    created_at = models.DateTimeField("ngày giao", auto_now_add=True)

    class Meta:
        verbose_name = "vai trò tại cơ quan"
        verbose_name_plural = "vai trò tại cơ quan"
        ordering = ["office__code", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "office", "role"], name="one_role_per_office")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.office}"
