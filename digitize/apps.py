"""Django application configuration for digitizing."""

from django.apps import AppConfig


class DigitizeConfig(AppConfig):
    name = "digitize"
    verbose_name = "Số hóa"
    default_auto_field = "django.db.models.BigAutoField"
