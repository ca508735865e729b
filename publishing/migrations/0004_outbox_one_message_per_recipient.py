# One outbox row per (document, channel, recipient), and an index for the deliveries due.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0004_procedure_stamp_place"),
        ("publishing", "0003_outbox_recipients_from_dossiers"),
    ]

    operations = [
        migrations.AlterField(
            model_name="outboxmessage",
            name="last_error",
            field=models.CharField(blank=True, max_length=200, verbose_name="lỗi lần gửi cuối"),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="attempts",
            field=models.PositiveIntegerField(default=0, verbose_name="số lần gửi"),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="channel",
            field=models.CharField(
                choices=[("email", "Thư điện tử"), ("sms", "Tin nhắn SMS")],
                max_length=8,
                verbose_name="kênh",
            ),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="tạo lúc"),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="document",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="outbox",
                to="dossiers.document",
                verbose_name="tài liệu",
            ),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="gửi được lúc"),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="state",
            field=models.CharField(
                choices=[("pending", "Chờ gửi"), ("sent", "Đã gửi"), ("failed", "Gửi lỗi")],
                default="pending",
                max_length=8,
                verbose_name="trạng thái",
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                fields=["state", "next_attempt_at"], name="publishing__state_22efd0_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.UniqueConstraint(
                fields=("document", "channel", "recipient"), name="one_message_per_recipient"
            ),
        ),
    ]
