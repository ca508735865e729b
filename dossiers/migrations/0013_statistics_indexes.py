# Indexes for the statistics: dossiers by receipt, resolution and due moment, the open ones by
# due moment, the odd ones (resolved or due before received), signed documents by dossier,
# and events by kind and time.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0012_dossier_life"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(fields=["received_at"], name="dossiers_received_idx"),
        ),
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(fields=["resolved_at"], name="dossiers_resolved_idx"),
        ),
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(fields=["due_at"], name="dossiers_due_idx"),
        ),
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(
                condition=models.Q(("resolved_at__isnull", True)),
                fields=["due_at", "office"],
                name="dossiers_open_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(
                condition=models.Q(("resolved_at__lt", models.F("received_at")))
                | models.Q(("due_at__lt", models.F("received_at"))),
                fields=["received_at"],
                name="dossiers_odd_moments_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="document",
            index=models.Index(
                condition=models.Q(("state__in", ["SIGNED", "PUBLISHED", "DELIVERED"])),
                fields=["dossier"],
                name="dossiers_document_signed_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["kind", "at"], name="dossiers_event_kind_at_idx"),
        ),
    ]
