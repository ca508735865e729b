"""Django application configuration for the dossier domain."""

from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "dossiers"
    verbose_name = "Hồ sơ"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Keep the search text of documents and dossiers in step with what it folds."""
        from django.db.models.signals import pre_save

        from dossiers.models import Document, Dossier
        from dossiers.services.search import keep_applicant_folded, keep_text_folded

        pre_save.connect(keep_text_folded, sender=Document, dispatch_uid="dossiers.text_folded")
        pre_save.connect(
            keep_applicant_folded, sender=Dossier, dispatch_uid="dossiers.applicant_folded"
        )
