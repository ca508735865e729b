# Signed letters by state and signing moment, for the letters' delivery recovery.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0014_letter_sequence"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="letter",
            index=models.Index(fields=["state", "signed_at"], name="letter_state_signed_idx"),
        ),
    ]
