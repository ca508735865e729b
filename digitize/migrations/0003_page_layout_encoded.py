from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("digitize", "0002_page_flags_page_rotation_page_skew"),
    ]

    operations = [
        migrations.RenameField(model_name="page", old_name="text_pdf_path", new_name="layout_path"),
        migrations.AddField(
            model_name="page",
            name="encoded_path",
            field=models.CharField(blank=True, max_length=1024),
        ),
    ]
