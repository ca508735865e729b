from django.db import migrations, models


def reread_pages_of_unfinished_documents(apps, schema_editor):
    """Pages OCR'd before the upgrade hold Tesseract's text PDF, not a layout: read them again."""
    Page = apps.get_model("digitize", "Page")
    Page.objects.filter(done=True, document__state="DIGITIZING").exclude(
        layout_path__endswith=".json"
    ).update(done=False, layout_path="")


class Migration(migrations.Migration):
    dependencies = [
        ("digitize", "0002_page_flags_page_rotation_page_skew"),
        ("dossiers", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="page", old_name="text_pdf_path", new_name="layout_path"),
        migrations.AddField(
            model_name="page",
            name="encoded_path",
            field=models.CharField(blank=True, max_length=1024),
        ),
        migrations.RunPython(reread_pages_of_unfinished_documents, migrations.RunPython.noop),
    ]
