"""Django application configuration for the dossier domain."""

from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "dossiers"
    verbose_name = "Hồ sơ"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Bind the tasks to motcua's Celery app; keep documents' search text in step."""
        # motcua.celery: every Django process (web, watcher, commands) sends tasks
        # through that app; the one-shot commands never load Django, nor Celery.
        from django.db.models.signals import pre_save

        import motcua.celery  # noqa: F401
        from dossiers.models import Document
        from dossiers.services.search import keep_text_folded

        pre_save.connect(keep_text_folded, sender=Document, dispatch_uid="dossiers.text_folded")
