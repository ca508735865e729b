# Letter numbers taken from a locked counter per office, form and year (seeded from the letters
# already numbered), and the forms' names as Circular 03/2025/TT-VPCP writes them.

import re
from zoneinfo import ZoneInfo

import django.db.models.deletion
from django.db import migrations, models

FORMS = [
    ("02", "Mẫu 02 — Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
    ("03", "Mẫu 03 — Phiếu từ chối tiếp nhận giải quyết hồ sơ"),
    ("04", "Mẫu 04 — Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"),
    ("05", "Mẫu 05 — Thông báo dừng giải quyết hồ sơ"),
]


def seed(apps, schema_editor):
    """Start each counter at the highest number already printed on a letter of that office,
    form and year (Vietnam time), so the next letter does not repeat one."""
    Letter = apps.get_model("dossiers", "Letter")
    LetterSequence = apps.get_model("dossiers", "LetterSequence")
    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    last: dict[tuple[int, str, int], int] = {}
    numbered = Letter.objects.exclude(number="").values_list(
        "dossier__office_id", "form", "created_at", "number"
    )
    for office_id, form, created_at, number in numbered.iterator():
        found = re.match(r"\s*(\d+)", number)
        if found is None:
            continue
        key = (office_id, form, created_at.astimezone(vn).year)
        last[key] = max(last.get(key, 0), int(found.group(1)))
    LetterSequence.objects.bulk_create(
        LetterSequence(office_id=office_id, form=form, year=year, last=value)
        for (office_id, form, year), value in sorted(last.items())
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0013_statistics_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="letter",
            name="form",
            field=models.CharField(choices=FORMS, max_length=2, verbose_name="mẫu"),
        ),
        migrations.AlterField(
            model_name="lettertemplate",
            name="form",
            field=models.CharField(choices=FORMS, max_length=2, verbose_name="mẫu"),
        ),
        migrations.CreateModel(
            name="LetterSequence",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("form", models.CharField(max_length=2, verbose_name="mẫu")),
                ("year", models.PositiveSmallIntegerField(verbose_name="năm")),
                ("last", models.PositiveIntegerField(default=0, verbose_name="số cuối đã cấp")),
                (
                    "office",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="dossiers.office",
                        verbose_name="cơ quan",
                    ),
                ),
            ],
            options={
                "verbose_name": "số văn bản đã cấp",
                "verbose_name_plural": "số văn bản đã cấp",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("office", "form", "year"), name="one_letter_sequence_per_year"
                    )
                ],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
