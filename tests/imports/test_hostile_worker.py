"""Security review, finding 1, on a real Celery worker (Redis in CI): the review's sparse sheet
is refused in under 2 s without hurting the worker, and a task whose worker process dies is
delivered a bounded number of times, after which its batch is marked failed with the reason."""

from __future__ import annotations

import time

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loans.importing.services import import_batch_create
from loans.models import ImportBatch
from loans.tasks import import_loan_book
from npl_recovery.celery import delivery_key_count
from tests.conftest import wait_for
from tests.imports import hostile
from tests.imports.conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


def _queued_batch(admin_user, content: bytes, name: str) -> ImportBatch:
    return import_batch_create(
        actor=admin_user,
        source=ImportBatch.Source.PAGE,
        dry_run=True,
        as_of=AS_OF,
        file_name=name,
        files={"loans": SimpleUploadedFile(name, content)},
    )


def _children(worker) -> set[int]:
    return {p.pid for p in psutil.Process(worker.proc.pid).children()}


def test_the_sparse_sheet_is_refused_by_a_real_worker_in_under_2_seconds_and_the_worker_lives_on(
    bank, admin_user, celery_worker_factory
):
    worker = celery_worker_factory()
    pool = _children(worker)
    batch = _queued_batch(admin_user, hostile.sparse_sheet(), "sparse.xlsx")
    started = time.monotonic()
    import_loan_book.apply_async(args=[batch.pk], queue=celery_worker_factory.queue)
    assert wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).is_finished, timeout=30, interval=0.05)
    assert time.monotonic() - started < 2
    batch.refresh_from_db()
    assert batch.status == "rejected"
    assert batch.errors[0].startswith("a sheet of the workbook declares the range A1:XFD1048576")
    assert worker.proc.poll() is None and _children(worker) == pool  # no pool process was lost


def test_a_task_whose_worker_keeps_dying_runs_three_times_then_fails_its_batch(
    bank, admin_user, celery_worker_factory, require_redis, tmp_path, settings
):
    from tests.imports.poison_tasks import import_that_kills_its_worker

    worker = celery_worker_factory(include=["tests.imports.poison_tasks"])
    batch = _queued_batch(admin_user, b"loan_no\n", "book.csv")
    trace = tmp_path / "deliveries.txt"
    sent = import_that_kills_its_worker.apply_async(args=[batch.pk, str(trace)], queue=celery_worker_factory.queue)
    assert wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).is_finished, timeout=90)
    batch.refresh_from_db()
    assert batch.status == "failed"
    assert batch.message == (
        "The worker running this import stopped 3 times before it finished (the file may be too large or "
        "damaged); it was not run again."
    )
    assert len(trace.read_text().split()) == settings.NPL_JOB_MAX_ATTEMPTS == 3
    assert worker.proc.poll() is None  # the worker itself lives on, with a new pool process
    assert wait_for(lambda: len(_children(worker)) == 1, timeout=10)
    assert delivery_key_count(f"task:{sent.id}") == 0  # settled: nothing left to count


def test_a_task_that_finishes_forgets_its_deliveries(bank, admin_user, celery_worker_factory):
    celery_worker_factory()
    batch = _queued_batch(admin_user, b"loan_no\nL-1\n", "book.csv")
    sent = import_loan_book.apply_async(args=[batch.pk], queue=celery_worker_factory.queue)
    assert wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).is_finished, timeout=30)
    assert delivery_key_count(f"task:{sent.id}") == 0
