"""Celery application, wired per Celery's "First steps with Django" guide.

With no CELERY_BROKER_URL the settings turn on eager mode, so every task runs
in-process and the embedded defaults need no broker.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")

app = Celery("digest_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
