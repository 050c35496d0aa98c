import os
from logging.config import dictConfig

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.local")

app = Celery("halobestie")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["accounts", "pairing", "chat", "billing", "notifications", "halobestie"])


@setup_logging.connect
def use_django_logging(**kwargs) -> None:
    """The worker and beat log through Django's LOGGING (JSON in production, LOG_LEVEL, the
    quiet per-task loggers) instead of Celery's own setup and its `--loglevel`."""
    from django.conf import settings

    dictConfig(settings.LOGGING)
