"""Django application configuration for batches, approvals and signatures."""

from django.apps import AppConfig


class SigningConfig(AppConfig):
    name = "signing"
    verbose_name = "Ký số"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dossiers.services.workflow import state_changed
        from signing.services.autosign_plan import on_state_changed

        # automatic signing where the office's policy says so, else the officials' batch
        state_changed.connect(on_state_changed, dispatch_uid="signing.batch_assignment")
