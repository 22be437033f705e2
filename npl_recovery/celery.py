"""The Celery app. Periodic schedules live in the apps' tasks modules (see accountability/).

Every task's base class is BoundedTask (the app's task_cls): tasks are acknowledged late and put
back on the queue when their worker process dies (acks_late + reject_on_worker_lost), so a task
that kills its process -- a file that makes a reader abort, a job that runs out of memory -- would
be delivered again forever. BoundedTask counts the deliveries of each task (in Django's cache:
Redis in production) and stops after NPL_JOB_MAX_ATTEMPTS (the bound the recovery of lost jobs,
npl_recovery/jobs.py, also applies): a delivery is counted when it
starts and forgotten when it ends (returns, raises or retries), so only deliveries that died add
up. The task's `on_poison` then records why it stopped (the import marks its batch failed).

Deliveries are counted per message (the task id: a message delivered again keeps it). A job sent
again as a new message -- the recovery of lost jobs, npl_recovery/jobs.py -- counts its sendings
itself against the same setting; a task may count per job instead by overriding `delivery_key`,
and other code may use `delivery_record` / `deliveries_spent`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "npl_recovery.settings")

logger = logging.getLogger(__name__)

# A count left behind (by a job that was never delivered again) is dropped after a week.
DELIVERY_COUNT_SECONDS = 7 * 24 * 3600


def _cache():
    from django.core.cache import cache

    return cache


def _max_deliveries() -> int:
    # One bound for every way a job comes round again: the recovery of lost jobs sends a job at
    # most this many times too (npl_recovery/jobs.py, NPL_JOB_MAX_ATTEMPTS).
    from npl_recovery.jobs import max_attempts

    return max_attempts()


def delivery_record(key: str) -> int:
    """Count one more delivery of the job `key`; returns how many there have been."""
    cache = _cache()
    cache.add(f"deliveries:{key}", 0, DELIVERY_COUNT_SECONDS)
    try:
        return cache.incr(f"deliveries:{key}")
    except ValueError:  # expired between the two calls
        cache.set(f"deliveries:{key}", 1, DELIVERY_COUNT_SECONDS)
        return 1


def deliveries_spent(count: int) -> bool:
    """Whether a job delivered `count` times has had all its deliveries."""
    return count > _max_deliveries()


def delivery_forget(key: str) -> None:
    _cache().delete(f"deliveries:{key}")


def delivery_key_count(key: str) -> int:
    return _cache().get(f"deliveries:{key}", 0)


class BoundedTask(Task):
    """The base of every task: at most NPL_JOB_MAX_ATTEMPTS deliveries whose worker died."""

    def delivery_key(self, args: tuple, kwargs: dict) -> str:
        """What the deliveries are counted against: this message (by default)."""
        return f"task:{self.request.id}"

    def on_poison(self, args: tuple, kwargs: dict, deliveries: int) -> None:
        """Called instead of the task once its deliveries are spent: record why it stopped."""
        logger.error(
            "task %s[%s] was not run again: its worker stopped %d times while running it (args %r, kwargs %r)",
            self.name, self.request.id, deliveries - 1, args, kwargs,
        )  # fmt: skip

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.called_directly or request.is_eager or not request.id:
            return super().__call__(*args, **kwargs)
        key = self.delivery_key(args, kwargs)
        try:
            deliveries = delivery_record(key)
        except Exception:  # noqa: BLE001 - the count must not stop the work when its store is down
            logger.warning("could not count the deliveries of task %s[%s]", self.name, request.id, exc_info=True)
            return super().__call__(*args, **kwargs)
        if deliveries_spent(deliveries):
            try:
                self.on_poison(args, kwargs, deliveries)
            finally:
                delivery_forget(key)
            return None
        try:
            return super().__call__(*args, **kwargs)
        finally:
            try:
                delivery_forget(key)
            except Exception:  # noqa: BLE001 - a count left behind expires by itself
                logger.warning("could not forget the deliveries of task %s[%s]", self.name, request.id)


app = Celery("npl_recovery", task_cls="npl_recovery.celery:BoundedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
