"""The motcua Django project: settings, Celery app, URL map and command line."""

from motcua.celery import app as celery_app

__all__ = ["celery_app"]
