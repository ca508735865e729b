# Each existing outbox row (one per document and channel) gets its recipient from the dossier.

from django.db import migrations

NO_RECIPIENT = "Hồ sơ không còn địa chỉ người nhận"


def fill_recipients(apps, schema_editor):
    OutboxMessage = apps.get_model("publishing", "OutboxMessage")
    rows = OutboxMessage.objects.select_related("document__dossier").order_by("pk")
    for row in rows.iterator(chunk_size=500):
        dossier = row.document.dossier
        row.recipient = dossier.email if row.channel == "email" else dossier.phone
        row.last_error = row.last_error[:200]
        if not row.recipient and row.state == "pending":
            row.state, row.last_error = "failed", NO_RECIPIENT
        row.save(update_fields=["recipient", "last_error", "state"])


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0002_outbox_recipient_rating_smstemplate"),
    ]

    operations = [migrations.RunPython(fill_recipients, migrations.RunPython.noop)]
