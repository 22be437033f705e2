"""Celery tasks: thin wrappers that take ids and ISO dates, call the services, and own their retries.

Every check is idempotent (accountability/daily_checks/), so a retry, a redelivery after a worker
was lost (acks_late + reject_on_worker_lost) or a second worker running it at once adds nothing.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import Task, chain, shared_task
from django.db import IntegrityError, InterfaceError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from accountability.daily_checks import CHECKS, Check, RunningBackInTime, check_run
from accountability.models import DailyCheckRun
from accountability.services import case_recovered_in_time
from collections_app.models import CollectionCase

logger = logging.getLogger(__name__)

# Transient: a lost or busy database (deadlock, serialisation failure, restart), a broker hiccup
# while a task queues e-mails, or a unique key taken by a concurrent run (the rerun skips it).
TRANSIENT_ERRORS = (OperationalError, InterfaceError, IntegrityError, BrokerError, ConnectionError, TimeoutError)

TASK_OPTIONS = {
    "bind": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 15,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 6,
    "acks_late": True,
    "reject_on_worker_lost": True,
    # A check never outlives the broker's visibility timeout (4 h by default), after which Redis
    # would hand the unacknowledged message to a second worker while the first still runs it.
    "soft_time_limit": 2 * 3600,
    "time_limit": 2 * 3600 + 300,
}
# How long a check waits for today's reclassification that is still running (beat starts them later).
WAIT_FOR_RECLASSIFY = timedelta(hours=2)


def business_date(as_of: str | None, days_ago: int = 0) -> date:
    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    return day - timedelta(days=days_ago)


def _reclassification_running(as_of: date) -> bool:
    runs = DailyCheckRun.objects.filter(check_name="reclassify", as_of=as_of)
    if runs.filter(status=DailyCheckRun.Status.DONE).exists():
        return False
    return runs.filter(
        status=DailyCheckRun.Status.RUNNING, started_at__gte=timezone.now() - WAIT_FOR_RECLASSIFY
    ).exists()


def _run(task: Task, name: str, as_of: str | None, days_ago: int) -> dict:
    day = business_date(as_of, days_ago)
    if CHECKS[name].after_reclassify and _reclassification_running(day):
        raise task.retry(countdown=120, max_retries=60)
    try:
        run = check_run(name=name, as_of=day, runner=f"celery {task.request.hostname or ''}".strip())
    except RunningBackInTime as exc:
        # Not retried: the date will not come back. Nothing was written; the refusal is the result.
        logger.warning("daily check %s as of %s refused: %s", name, day, exc)
        return {"refused": str(exc), "as_of": day.isoformat()}
    return {"run": run.pk, "as_of": day.isoformat(), **run.counts}


def _check_task(check: Check) -> Task:
    """The Celery task of one registered check, named `check.task_name` (beat's schedule uses it)."""

    def run_check(self: Task, as_of: str | None = None, days_ago: int = 0) -> dict:
        return _run(self, check.name, as_of, days_ago)

    run_check.__name__ = run_check.__qualname__ = f"check_{check.name}"
    run_check.__doc__ = f"The daily check {check.name!r} for `as_of`, or for today less `days_ago`."
    return shared_task(name=check.task_name, **TASK_OPTIONS)(run_check)


# One task per check of the registry, in its order: a check added there is a task too.
CHECK_TASKS: dict[str, Task] = {name: _check_task(check) for name, check in CHECKS.items()}


def checks_chain(*, as_of: date, only: list[str] | None = None, queue: str | None = None):
    """All checks (or `only`) for one date as a Celery chain, in order: each after the one before."""
    names = [n for n in CHECKS if not only or n in only]
    options = {"queue": queue} if queue else {}
    return chain(*(CHECK_TASKS[n].si(as_of=as_of.isoformat()).set(**options) for n in names))


@shared_task(name="accountability.case_recovered", **TASK_OPTIONS)
def case_recovered(self, case_id: int, as_of: str) -> int:
    """Queued on commit when a case moves to recovered: rewards and lifts, without delay."""
    case = CollectionCase.objects.filter(pk=case_id).first()
    if case is None:
        return 0
    return len(case_recovered_in_time(case=case, as_of=date.fromisoformat(as_of)))
