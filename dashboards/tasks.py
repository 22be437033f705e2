"""Celery tasks of the dashboards: the compaction of the kept cells (beat, every 5 minutes)."""

from __future__ import annotations

from celery import shared_task
from celery.schedules import crontab

from dashboards.maintain import compact

COMPACT_TASK = "dashboards.tasks.kept_compact"

# Installed by DashboardsConfig.ready() into the Celery app's beat_schedule.
BEAT_SCHEDULE = {
    # Every 5 minutes: each kept cell's delta rows folded into one (readers sum fewer rows). A
    # compaction still queued after 4 minutes is dropped: the next one does its work.
    "dashboards-kept-compact": {
        "task": COMPACT_TASK,
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 240},
    },
}


@shared_task(name=COMPACT_TASK, acks_late=True, ignore_result=True)
def kept_compact() -> dict:
    """Fold the kept cells' delta rows (dashboards.maintain.compact); safe to run twice at once."""
    return compact()
