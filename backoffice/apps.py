"""Django application configuration for the back-office pages."""

from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Văn phòng một cửa"
