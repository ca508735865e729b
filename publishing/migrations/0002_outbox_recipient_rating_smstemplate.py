# The outbox gets one row per recipient and a lease; SMS templates and citizens' ratings.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0004_procedure_stamp_place"),
        ("publishing", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Rating",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "score",
                    models.CharField(
                        choices=[
                            ("very_satisfied", "Rất hài lòng"),
                            ("satisfied", "Hài lòng"),
                            ("unsatisfied", "Không hài lòng"),
                        ],
                        max_length=16,
                        verbose_name="mức độ hài lòng",
                    ),
                ),
                ("comment", models.TextField(blank=True, max_length=500, verbose_name="góp ý")),
                (
                    "created_at",
                    models.DateTimeField(
                        db_index=True,
                        default=django.utils.timezone.now,
                        verbose_name="đánh giá lúc",
                    ),
                ),
                (
                    "dossier",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="rating",
                        to="dossiers.dossier",
                        verbose_name="hồ sơ",
                    ),
                ),
            ],
            options={
                "verbose_name": "đánh giá của công dân",
                "verbose_name_plural": "đánh giá của công dân",
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="SmsTemplate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "purpose",
                    models.CharField(
                        choices=[("result_ready", "Đã có kết quả")],
                        max_length=32,
                        unique=True,
                        verbose_name="loại tin",
                    ),
                ),
                (
                    "text",
                    models.TextField(
                        help_text="Chữ không dấu (bảng GSM-7). Chỗ điền: {office} tên cơ quan (tự rút gọn), {code} mã hồ sơ, {link} đường dẫn đánh giá, {lookup} đường dẫn tra cứu. Bản dài nhất phải vừa một tin 160 ký tự.",
                        max_length=320,
                        verbose_name="mẫu tin",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="sửa lúc")),
            ],
            options={
                "verbose_name": "mẫu tin nhắn SMS",
                "verbose_name_plural": "mẫu tin nhắn SMS",
            },
        ),
        migrations.RemoveConstraint(
            model_name="outboxmessage",
            name="one_message_per_channel",
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="recipient",
            field=models.CharField(default="", max_length=254, verbose_name="người nhận"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="claimed_by",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True, verbose_name="đang gửi đến"),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="next_attempt_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, verbose_name="gửi lần tới"
            ),
        ),
    ]
