"""Django application configuration for the audit trail."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Nhật ký kiểm toán"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Listen for sign-ins and for configuration changed in the admin."""
        from audit.services.hooks import connect

        connect()
