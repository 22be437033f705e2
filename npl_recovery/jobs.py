"""Jobs left behind by a worker that is gone: found, then queued again or failed with the reason.

A job is a row that a worker runs: an import batch (loans.ImportBatch) or a run of a daily check
(accountability.DailyCheckRun). While a process runs one, it holds a PostgreSQL advisory lock on
(the kind's namespace, the row's id) for its session; a process that dies (killed, out of memory,
its container restarted) loses its session and the lock with it. So a row that says "running"
while nobody holds its lock was left by a worker that is gone. SQLite has no such locks: there a
row running for longer than any task may (`RUNNING_WITHOUT_LOCK_LOST_AFTER`) counts as lost.

A job still queued `NPL_JOB_STALE_MINUTES` after it was sent lost its message (a broker that
forgot it): it is sent again. Every start by a worker and every new sending counts as an attempt;
after `NPL_JOB_MAX_ATTEMPTS` the job is failed with the reason instead of being sent again, so a
job that kills its worker, or that no worker takes, cannot go round forever.

`jobs_recover_stale` is the one entry point: a worker calls it as it starts (`worker_ready`, below),
beat every ten minutes (accountability/schedule.py), an operator with `manage.py recover_stale_jobs`.
Each step claims its row with a conditional UPDATE under the job's lock, so two workers starting at
once recover each job once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

# Longer than the longest a task may run (the daily checks' hard time limit is 2 h 5 min).
RUNNING_WITHOUT_LOCK_LOST_AFTER = timedelta(hours=3)


def _positive_setting(name: str, default: int) -> int:
    value = getattr(settings, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 1, got {value!r}")
    return value


def max_attempts() -> int:
    """How many times a job is started or sent to the workers before it is failed instead."""
    return _positive_setting("NPL_JOB_MAX_ATTEMPTS", 3)


def queued_stale_after() -> timedelta:
    """How long a queued job may wait for a worker before its message counts as lost."""
    return timedelta(minutes=_positive_setting("NPL_JOB_STALE_MINUTES", 30))


@dataclass(frozen=True)
class JobLock:
    """A PostgreSQL session-level advisory lock per job row, held by the process running the job."""

    namespace: int

    def take(self, job_id: int) -> bool:
        """Take the lock (True), or False when another session holds it. Always True on SQLite."""
        if connection.vendor != "postgresql":
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [self.namespace, job_id])
            return bool(cursor.fetchone()[0])

    def release(self, job_id: int) -> None:
        if connection.vendor != "postgresql":
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [self.namespace, job_id])
        except DatabaseError:  # a lost connection dropped the lock with it; do not hide the first error
            logger.warning("could not release job lock %s/%s", self.namespace, job_id, exc_info=True)

    @contextmanager
    def held(self, job_id: int) -> Iterator[bool]:
        taken = self.take(job_id)
        try:
            yield taken
        finally:
            if taken:
                self.release(job_id)


# "NPLI" and "NPLC": the namespaces of import batches and daily-check runs ("NPLE", export jobs,
# is in loans/export_jobs.py).
IMPORT_BATCH_LOCK = JobLock(0x4E504C49)
CHECK_RUN_LOCK = JobLock(0x4E504C43)


def running_lost_before(now: datetime) -> datetime:
    """Rows marked running that started before this may be lost. On PostgreSQL any of them may be
    (the lock decides); on SQLite only those past the longest a task may run."""
    return now if connection.vendor == "postgresql" else now - RUNNING_WITHOUT_LOCK_LOST_AFTER


@dataclass(frozen=True)
class RecoveredJob:
    kind: str  # "import_batch", "daily_check_run" or "export_job"
    id: int
    outcome: str  # "requeued" or "failed"
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id} {self.outcome}: {self.reason}"


def jobs_recover_stale(*, now: datetime, queue: str | None = None) -> list[RecoveredJob]:
    """Queue again, or fail with the reason, every job a gone worker left queued or running.

    `queue` is where jobs sent again go (a worker starting up passes its own, so it takes them);
    by default each kind's usual queue.
    """
    from accountability.lost_runs import check_runs_recover_stale
    from loans.export_jobs import export_jobs_recover_stale
    from loans.importing.services import import_batches_recover_stale

    return [
        *import_batches_recover_stale(now=now, queue=queue),
        *check_runs_recover_stale(now=now, queue=queue),
        *export_jobs_recover_stale(now=now, queue=queue),
    ]


@shared_task(name="npl_recovery.recover_stale_jobs", acks_late=True, ignore_result=True)
def recover_stale_jobs(queue: str | None = None) -> list[str]:
    return [str(job) for job in jobs_recover_stale(now=timezone.now(), queue=queue)]


@worker_ready.connect
def _recover_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts (after a crash, a deploy, a broker restart) recovers what was left.

    The recovery runs as a task on this worker's own first queue, in a pool process: the worker's
    main process opens no database connection that its pool processes could inherit.
    """
    queues = [q.name for q in getattr(getattr(sender, "task_consumer", None), "queues", None) or []]
    queue = queues[0] if queues else None
    recover_stale_jobs.apply_async(kwargs={"queue": queue}, queue=queue)
