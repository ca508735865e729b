"""Django application configuration for the dossier domain."""

from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "dossiers"
    verbose_name = "Hồ sơ"
    default_auto_field = "django.db.models.BigAutoField"
