"""Exports run by a Celery worker: an ExportJob per export of more than NPL_EXPORT_SYNC_MAX_ROWS.

The page creates the job (`export_job_create`): the export is recorded and limited then, by the
one exporter's `export_record` (loans/exporting.py: who, what, filters, rows; NPL_EXPORTS_PER_HOUR
counts jobs like any other export), and the job is handed to the workers after commit. The worker
(`loans.tasks.export_job_task`) claims it under its advisory lock ("NPLE", job id: a job a dead
worker left running is found by npl_recovery/jobs.py), chooses the rows again through the OWNER's
`visible_to` scope and the recorded filters, writes the file to a temporary file while it counts
the rows written (the page polls them), then stores it under a private path of the default
storage. Only the owner sees the job or downloads its file; the file is kept NPL_EXPORT_KEEP_DAYS
days and then deleted by the daily purge (`export_jobs_purge`). A job that fails keeps no file and
says why.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext

from audit.services import audit_record
from loans.export_copy import copy_statement, write_csv_copy, write_xlsx_export
from loans.exporting import (
    EXPORTS,
    FORMATS,
    ExportSpec,
    can_export,
    export_filters,
    export_queryset,
    export_record,
    write_csv,
)
from loans.models import ExportJob
from npl_recovery.jobs import JobLock, RecoveredJob, max_attempts, queued_stale_after, running_lost_before

logger = logging.getLogger(__name__)

# "NPLE": the advisory-lock namespace of export jobs (npl_recovery/jobs.py).
EXPORT_JOB_LOCK = JobLock(0x4E504C45)
# Progress is written every this many rows (one small UPDATE, outside any transaction).
PROGRESS_EVERY = 5000
# Query parameters that are not the list's filters (how it is shown, or how it is exported).
_NOT_QUERY = frozenset({"export", "page", "per_page", "header", "csrfmiddlewaretoken"})


def sync_max_rows() -> int:
    """Exports of at most this many rows are written while the page waits; larger ones are jobs."""
    return int(getattr(settings, "NPL_EXPORT_SYNC_MAX_ROWS", 5000))


def keep_days() -> int:
    return int(getattr(settings, "NPL_EXPORT_KEEP_DAYS", 7))


def _stored_query(query: QueryDict | None) -> dict[str, list[str]]:
    return {k: v for k, v in (query.lists() if query else []) if k not in _NOT_QUERY}


def job_query(job: ExportJob) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in (job.query or {}).items():
        query.setlist(key, values if isinstance(values, list) else [values])
    return query


def export_job_create(
    *, actor: Any, spec: ExportSpec, fmt: str, query: QueryDict | None, chinese_row: bool, as_of: date
) -> ExportJob:
    """Record (and limit) the export, and queue a job that writes it. One transaction: a refused
    export (ExportLimitReached) leaves no job."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if not can_export(actor):
        raise PermissionDenied(gettext("Exports are for managers, administrators and auditors."))
    with transaction.atomic():
        job = ExportJob(
            owner=actor,
            export=spec.name,
            fmt=fmt,
            query=_stored_query(query),
            chinese_row=chinese_row,
            as_of=as_of,
            language=translation.get_language() or "",
            queued_at=timezone.now(),
        )
        job.full_clean(exclude=["file"])
        job.save()
        queryset = export_queryset(spec, actor, query)
        job.rows_total = export_record(
            actor=actor,
            spec=spec,
            queryset=queryset,
            fmt=fmt,
            filters=export_filters(query) if query is not None and spec.name == "loans" else {},
            via="job",
            job=job.pk,
        )
        job.save(update_fields=["rows_total"])
        transaction.on_commit(lambda: export_job_send(job_id=job.pk))
    return job


def export_job_send(*, job_id: int, queue: str | None = None) -> None:
    from loans.tasks import export_job_task

    export_job_task.apply_async(args=[job_id], queue=queue or getattr(settings, "NPL_EXPORT_QUEUE", None))


def export_job_claim(*, job_id: int) -> ExportJob | None:
    """Take a queued job for this worker (a conditional UPDATE under its lock); None when another
    worker runs it or it is finished. On PostgreSQL a job a dead worker left running is taken again."""
    if not EXPORT_JOB_LOCK.take(job_id):
        return None
    fields = {"status": ExportJob.Status.RUNNING, "started_at": timezone.now(), "rows_written": 0}
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(**fields)
    if not claimed and connection.vendor == "postgresql":
        claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING).update(**fields)
    if not claimed:
        EXPORT_JOB_LOCK.release(job_id)
        return None
    return ExportJob.objects.select_related("owner").get(pk=job_id)


def _counted(rows: Iterable[list[Any]], job_id: int) -> Iterator[list[Any]]:
    for written, row in enumerate(rows, start=1):
        yield row
        if written % PROGRESS_EVERY == 0:
            ExportJob.objects.filter(pk=job_id).update(rows_written=written)


@contextmanager
def _progress_beside_copy(job_id: int) -> Iterator[Callable[[int], None] | None]:
    """While a COPY holds the connection, the rows written are counted through a second, autocommit
    connection (the job's row was committed when it was claimed). Inside a transaction (a test, a
    caller's atomic block) the job's row may not be visible elsewhere: the count comes at the end."""
    if connection.in_atomic_block:
        yield None
        return
    side = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    table = connection.ops.quote_name(ExportJob._meta.db_table)
    try:
        yield lambda rows: side.execute(f"UPDATE {table} SET rows_written = %s WHERE id = %s", [rows, job_id])
    finally:
        side.close()


def export_job_run(*, job: ExportJob) -> ExportJob:
    """Write a claimed job's file (the Celery task), then let go of its lock. Any error fails the
    job with the reason and keeps no file."""
    stored_name = ""
    try:
        spec = EXPORTS.get(job.export)
        if spec is None or not spec.available:
            raise ValueError(gettext("There is no export called %(name)s.") % {"name": job.export})
        with translation.override(job.language or settings.LANGUAGE_CODE), tempfile.TemporaryDirectory() as tmp:
            # The owner's scope when the job runs: a user moved to another branch exports that one.
            queryset = export_queryset(spec, job.owner, job_query(job))
            total = queryset.count()
            ExportJob.objects.filter(pk=job.pk).update(rows_total=total)
            headers = spec.header_rows(chinese_row=job.chinese_row)
            name = f"{job.export}-{job.as_of:%Y%m%d}.{job.fmt}"
            path = os.path.join(tmp, name)
            statement = copy_statement(spec, queryset, job.as_of) if job.fmt == "csv" else None
            if statement is not None:
                # PostgreSQL formats the rows (loans/export_copy.py): the same bytes, ~COPY's speed.
                with open(path, "wb") as out, _progress_beside_copy(job.pk) as progress:
                    written = write_csv_copy(out, headers, statement, progress=progress, every=PROGRESS_EVERY)
            elif job.fmt == "xlsx":
                # From PostgreSQL's typed rows where it can (loans/export_copy.py); the connection
                # may be streaming them, so the progress goes through the second one.
                with _progress_beside_copy(job.pk) as progress:
                    written = write_xlsx_export(path, spec, queryset, headers, job.as_of, progress=progress,
                                                every=PROGRESS_EVERY)  # fmt: skip
            else:
                with open(path, "w", encoding="utf-8", newline="") as out:
                    written = write_csv(out, headers, _counted(spec.rows(queryset, job.as_of), job.pk))
            with open(path, "rb") as done:
                job.file.save(name, File(done), save=False)
            stored_name = job.file.name
        now = timezone.now()
        finished = ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.RUNNING).update(
            status=ExportJob.Status.DONE,
            file=stored_name,
            file_name=name,
            rows_total=written,
            rows_written=written,
            finished_at=now,
            expires_at=now + timedelta(days=keep_days()),
            message="",
        )
        if not finished:  # failed or recovered meanwhile: the file is nobody's
            job.file.storage.delete(stored_name)
    except Exception as exc:  # noqa: BLE001 - any failure is the job's, told to its owner
        logger.exception("export job %s failed", job.pk)
        if stored_name:
            job.file.storage.delete(stored_name)
        with translation.override(job.language or settings.LANGUAGE_CODE):
            reason = gettext("The export stopped with an error: %(error)s. No file was kept; export again.") % {
                "error": str(exc)[:300] or type(exc).__name__
            }
        export_job_fail(job_id=job.pk, reason=reason)
    finally:
        EXPORT_JOB_LOCK.release(job.pk)
    job.refresh_from_db()
    return job


def export_job_fail(*, job_id: int, reason: str) -> bool:
    """Mark a job that is not finished as failed, with the reason. It has no file."""
    return bool(
        ExportJob.objects.filter(pk=job_id, status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]).update(
            status=ExportJob.Status.FAILED, finished_at=timezone.now(), message=reason[:2000], file=""
        )
    )


def export_jobs_purge(*, now: datetime) -> int:
    """Delete the files of finished jobs past their `expires_at` (the daily beat task); the job
    stays, marked expired. Returns how many files were deleted; one audit row names the jobs."""
    purged = []
    for job in ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=now).order_by("pk"):
        with transaction.atomic():
            if not ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.DONE).update(
                status=ExportJob.Status.EXPIRED, file=""
            ):
                continue
            if job.file:
                job.file.storage.delete(job.file.name)
            purged.append(job.pk)
    if purged:
        audit_record(
            actor=None,
            event_type="system.exports.purged",
            subject=None,
            new={"jobs": purged, "count": len(purged)},
            reason=f"older than NPL_EXPORT_KEEP_DAYS ({keep_days()} days)",
        )
    return len(purged)


def export_jobs_recover_stale(*, now: datetime, queue: str | None = None) -> list[RecoveredJob]:
    """Jobs a gone worker left queued or running (npl_recovery/jobs.py): sent again, or failed with
    the reason once NPL_JOB_MAX_ATTEMPTS are spent."""
    stale = now - queued_stale_after()
    lost = Q(status=ExportJob.Status.RUNNING, started_at__lt=running_lost_before(now)) | Q(
        Q(queued_at__lt=stale) | Q(queued_at=None, created_at__lt=stale), status=ExportJob.Status.QUEUED
    )
    recovered = []
    for job_id in ExportJob.objects.filter(lost).order_by("pk").values_list("pk", flat=True):
        if not EXPORT_JOB_LOCK.take(job_id):  # a live worker runs it
            continue
        try:
            with transaction.atomic():
                job = ExportJob.objects.select_for_update().filter(lost, pk=job_id).first()
                if job is None:
                    continue
                old = {"status": job.status, "attempts": job.attempts}
                if job.attempts >= max_attempts():
                    outcome = "failed"
                    reason = gettext("The export was not finished after %(attempts)d attempts; export again.") % {
                        "attempts": job.attempts
                    }
                    job.status, job.finished_at, job.message = ExportJob.Status.FAILED, now, reason
                else:
                    outcome = "requeued"
                    reason = gettext("Sent to the workers again (attempt %(n)d of %(max)d).") % {
                        "n": job.attempts + 1,
                        "max": max_attempts(),
                    }
                    job.status, job.queued_at, job.attempts, job.rows_written = (
                        ExportJob.Status.QUEUED, now, job.attempts + 1, 0,
                    )  # fmt: skip
                job.save(update_fields=["status", "finished_at", "message", "queued_at", "attempts", "rows_written"])
                audit_record(
                    actor=None,
                    event_type=f"system.export_job.{outcome}",
                    subject=job,
                    old=old,
                    new={"status": job.status, "attempts": job.attempts},
                    reason=reason,
                )
                recovered.append(RecoveredJob("export_job", job_id, outcome, reason))
                if outcome == "requeued":
                    transaction.on_commit(lambda pk=job_id: export_job_send(job_id=pk, queue=queue))
        finally:
            EXPORT_JOB_LOCK.release(job_id)
    return recovered
