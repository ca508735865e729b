"""The motcua Django project: settings, Celery app (``motcua.celery``), URL map, command line."""
