# The letters' recovery (publishing.services.letter_delivery.letters_owed) finds letter
# messages by state and due moment, as results' messages are found.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0015_letter_state_signed_idx"),
        ("publishing", "0006_letter_messages"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="lettermessage",
            index=models.Index(fields=["state", "next_attempt_at"], name="letter_message_due_idx"),
        ),
    ]
