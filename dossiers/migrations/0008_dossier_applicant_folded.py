# Generated for the back office's search by applicant, insensitive to tone marks and đ.

import unicodedata
from typing import Any

from django.db import migrations, models


def _fold(text: str) -> str:
    # A frozen copy of dossiers.services.search.fold, so this migration never changes meaning.
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFC", bare).casefold().split())


def fill_applicant_folded(apps: Any, schema_editor: Any) -> None:
    Dossier = apps.get_model("dossiers", "Dossier")
    batch = []
    for dossier in Dossier.objects.only("pk", "applicant_name").iterator(chunk_size=500):
        dossier.applicant_folded = _fold(dossier.applicant_name)[:255]
        batch.append(dossier)
        if len(batch) == 500:
            Dossier.objects.bulk_update(batch, ["applicant_folded"])
            batch = []
    Dossier.objects.bulk_update(batch, ["applicant_folded"])


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0007_vietnamese_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="dossier",
            name="applicant_folded",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Tên người nộp bỏ dấu, chữ thường; tự cập nhật khi tên thay đổi.",
                max_length=255,
                verbose_name="người nộp không dấu (để tìm kiếm)",
            ),
        ),
        migrations.RunPython(fill_applicant_folded, migrations.RunPython.noop),
    ]
