"""Daily-check runs a gone worker left "running" (npl_recovery/jobs.py): failed with the reason,
and, when a worker ran them, sent to the workers again (every check is idempotent, and catches up
with what the lost run left), until the check has been tried NPL_JOB_MAX_ATTEMPTS times that day.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext

from accountability.models import DailyCheckRun
from audit.services import audit_system_run
from npl_recovery.jobs import CHECK_RUN_LOCK, RecoveredJob, max_attempts, running_lost_before


def check_run_send(*, name: str, as_of_iso: str, queue: str | None = None) -> None:
    """Send one check's task for one day (by its name: accountability.check_<name>)."""
    from accountability import tasks  # noqa: F401  (registers the check tasks in this process)
    from npl_recovery.celery import app

    app.tasks[f"accountability.check_{name}"].apply_async(kwargs={"as_of": as_of_iso}, queue=queue)


def check_runs_recover_stale(*, now: datetime, queue: str | None = None) -> list[RecoveredJob]:
    recovered = []
    lost = DailyCheckRun.objects.filter(status=DailyCheckRun.Status.RUNNING, started_at__lt=running_lost_before(now))
    for run_id in lost.order_by("pk").values_list("pk", flat=True):
        # The process running a check holds its lock (check_run); holding it here also keeps a
        # second recovery off this run.
        if not CHECK_RUN_LOCK.take(run_id):
            continue
        try:
            job = _recover_run(run_id, now=now)
        finally:
            CHECK_RUN_LOCK.release(run_id)
        if job is not None:
            recovered.append(job)
            if job.outcome == "requeued":
                run = DailyCheckRun.objects.get(pk=run_id)
                transaction.on_commit(
                    lambda run=run: check_run_send(name=run.check_name, as_of_iso=run.as_of.isoformat(), queue=queue)
                )
    return recovered


@transaction.atomic
def _recover_run(run_id: int, *, now: datetime) -> RecoveredJob | None:
    run = DailyCheckRun.objects.select_for_update().filter(pk=run_id, status=DailyCheckRun.Status.RUNNING).first()
    if run is None:  # finished or recovered meanwhile
        return None
    reason = gettext("Stopped: the process running it (%(runner)s) is gone.") % {"runner": run.runner or "?"}
    tries, limit = DailyCheckRun.objects.filter(check_name=run.check_name, as_of=run.as_of).count(), max_attempts()
    by_a_worker = run.runner.startswith("celery")
    requeued = by_a_worker and tries < limit
    if requeued:
        more = gettext("Sent to the workers again (attempt %(n)d of %(max)d).") % {"n": tries + 1, "max": limit}
    elif by_a_worker:
        more = gettext("Not sent again: tried %(tries)d times for this day.") % {"tries": tries}
    else:
        more = gettext("Run it again with manage.py run_daily_checks.")
    reason = f"{reason} {more}"
    run.status, run.finished_at, run.error = DailyCheckRun.Status.FAILED, now, reason
    run.save(update_fields=["status", "finished_at", "error"])
    audit_system_run(
        event_type="daily_check_run.requeued" if requeued else "daily_check_run.failed",
        subject=run,
        summary={"check": run.check_name, "as_of": run.as_of, "status": run.status, "tries": tries},
        reason=reason,
    )
    return RecoveredJob("daily_check_run", run_id, "requeued" if requeued else "failed", reason)
