"""Django application configuration for publishing results to citizens."""

from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "publishing"
    verbose_name = "Trả kết quả"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dossiers.services.workflow import state_changed
        from publishing.services.publication import on_state_changed

        state_changed.connect(on_state_changed, dispatch_uid="publishing.after_signing")
