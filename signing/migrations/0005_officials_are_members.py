"""Every active signer becomes a signing official (a Membership) of their office."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def officials_from_signers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Before roles per office, holding a Signer row was what made a person an official."""
    Signer = apps.get_model("signing", "Signer")
    Membership = apps.get_model("dossiers", "Membership")
    for user_id, office_id in Signer.objects.filter(active=True).values_list("user", "office"):
        Membership.objects.get_or_create(user_id=user_id, office_id=office_id, role="official")


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0006_offices_tree_and_memberships"),
        ("signing", "0004_organisation_key_auto_signing"),
    ]

    operations = [migrations.RunPython(officials_from_signers, migrations.RunPython.noop)]
