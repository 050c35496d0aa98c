import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.local")

app = Celery("halobestie")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["accounts", "pairing", "chat", "billing", "notifications", "halobestie"])
