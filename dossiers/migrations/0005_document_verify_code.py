"""Each document gets a random public verification code (its stamp's QR code opens it);
the signed file's hash is indexed, since the public verification page looks it up."""

from django.db import migrations, models

import dossiers.models


def fill_codes(apps, schema_editor):
    """Give every existing document a code of its own (unique, as new ones get)."""
    Document = apps.get_model("dossiers", "Document")
    used = set()
    for pk in Document.objects.filter(verify_code__isnull=True).values_list("pk", flat=True):
        code = dossiers.models.new_verify_code()
        while code in used:
            code = dossiers.models.new_verify_code()
        used.add(code)
        Document.objects.filter(pk=pk).update(verify_code=code)


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0004_procedure_stamp_place"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="verify_code",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="document",
            name="verify_code",
            field=models.CharField(
                default=dossiers.models.new_verify_code,
                editable=False,
                help_text="Mã ngẫu nhiên trong mã QR của chữ ký: mở trang kiểm tra của chính tài liệu.",
                max_length=32,
                unique=True,
                verbose_name="mã kiểm tra",
            ),
        ),
        migrations.AlterField(
            model_name="document",
            name="signed_sha256",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
    ]
