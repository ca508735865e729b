# Daily sequences of generated dossier codes, and hashed tokens of the import API.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0008_dossier_applicant_folded"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DossierSequence",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "agency_code",
                    models.CharField(max_length=32, verbose_name="mã định danh cơ quan"),
                ),
                ("day", models.DateField(verbose_name="ngày tiếp nhận")),
                ("last", models.PositiveIntegerField(default=0, verbose_name="số thứ tự cuối")),
            ],
            options={
                "verbose_name": "số thứ tự mã hồ sơ",
                "verbose_name_plural": "số thứ tự mã hồ sơ",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("agency_code", "day"), name="one_sequence_per_day"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="Hệ thống nào dùng mã này.", max_length=100, verbose_name="tên"
                    ),
                ),
                ("prefix", models.CharField(editable=False, max_length=8, verbose_name="đầu mã")),
                (
                    "key_hash",
                    models.CharField(
                        "băm SHA-256 của mã", editable=False, max_length=64, unique=True
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="ngày tạo")),
                (
                    "last_used_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="lần dùng cuối"
                    ),
                ),
                (
                    "revoked_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="ngày thu hồi"),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="người dùng",
                    ),
                ),
            ],
            options={
                "verbose_name": "mã truy cập API",
                "verbose_name_plural": "mã truy cập API",
                "ordering": ["-created_at"],
            },
        ),
    ]
