"""The Celery app. Periodic schedules live in the apps' tasks modules (see accountability/)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "npl_recovery.settings")

app = Celery("npl_recovery")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
