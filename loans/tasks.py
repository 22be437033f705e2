from __future__ import annotations

from datetime import date

from celery import shared_task
from django.db import OperationalError
from django.utils.translation import gettext as _

from loans.importing.services import import_batch_claim, import_batch_run
from loans.models import User
from loans.services import loans_reclassify
from npl_recovery.celery import BoundedTask


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    acks_late=True,
)
def reclassify_book(self, as_of: str, actor_id: int | None = None) -> dict:
    """Classify the whole book as of a date (ISO string). Idempotent: safe to run twice."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    result = loans_reclassify(as_of=date.fromisoformat(as_of), actor=actor)
    return {"examined": result.examined, "changed": result.changed}


class ImportTask(BoundedTask):
    """A batch whose worker kept dying under it is marked failed with the reason. (Its message is
    delivered at most NPL_JOB_MAX_ATTEMPTS times; the recovery of lost jobs sends a batch again at
    most as many times, counting on the batch: npl_recovery/jobs.py.)"""

    def on_poison(self, args: tuple, kwargs: dict, deliveries: int) -> None:
        from loans.importing.services import import_batch_fail

        super().on_poison(args, kwargs, deliveries)
        reason = _(
            "The worker running this import stopped %(times)s times before it finished (the file may be too "
            "large or damaged); it was not run again."
        ) % {"times": deliveries - 1}
        import_batch_fail(batch_id=kwargs.get("batch_id", args[0] if args else None), reason=reason)


@shared_task(bind=True, base=ImportTask, acks_late=True, ignore_result=True)
def import_loan_book(self, batch_id: int) -> dict:
    """Run a queued import batch (uploaded on the import page). Idempotent: a batch already taken
    by another worker, or finished, is left alone."""
    batch = import_batch_claim(batch_id=batch_id)
    if batch is None:
        return {"batch": batch_id, "skipped": True}
    outcome = import_batch_run(batch=batch)
    return {"batch": batch_id, "status": outcome.batch.status}


class ExportTask(BoundedTask):
    """An export job whose worker kept dying under it is failed with the reason."""

    def on_poison(self, args: tuple, kwargs: dict, deliveries: int) -> None:
        from loans.export_jobs import export_job_fail

        super().on_poison(args, kwargs, deliveries)
        reason = _(
            "The worker writing this export stopped %(times)s times before it finished; it was not run again."
        ) % {"times": deliveries - 1}
        export_job_fail(job_id=kwargs.get("job_id", args[0] if args else None), reason=reason)


@shared_task(bind=True, base=ExportTask, acks_late=True, ignore_result=True)
def export_job_task(self, job_id: int) -> dict:
    """Write a queued export job's file (loans/export_jobs.py). Idempotent: a job another worker
    runs, or a finished one, is left alone."""
    from loans.export_jobs import export_job_claim, export_job_run

    job = export_job_claim(job_id=job_id)
    if job is None:
        return {"job": job_id, "skipped": True}
    job = export_job_run(job=job)
    return {"job": job_id, "status": job.status, "rows": job.rows_written}


@shared_task(name="loans.tasks.export_jobs_purge", acks_late=True, ignore_result=True)
def export_jobs_purge_task() -> int:
    """Daily: delete export files older than NPL_EXPORT_KEEP_DAYS."""
    from django.utils import timezone

    from loans.export_jobs import export_jobs_purge

    return export_jobs_purge(now=timezone.now())
