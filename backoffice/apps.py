"""Django application configuration for the back-office pages."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Văn phòng một cửa"

    def ready(self) -> None:
        """After every ``migrate``, the statistics' triggers are (re)installed if missing."""
        from backoffice.services.statistics_triggers import install_after_migrate

        post_migrate.connect(
            install_after_migrate, sender=self, dispatch_uid="backoffice-statistics-triggers"
        )
