"""Django application configuration for the folder watcher."""

from django.apps import AppConfig


class WatchFoldersConfig(AppConfig):
    name = "watch_folders"
    verbose_name = "Thư mục tiếp nhận"
    default_auto_field = "django.db.models.BigAutoField"
