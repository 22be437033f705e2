"""The import page's task on a real Celery worker process (Redis in CI)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loans.importing.services import import_batch_create
from loans.models import ImportBatch, Loan
from loans.tasks import import_loan_book
from tests.conftest import WorkerProcess, wait_for
from tests.imports.conftest import AS_OF, csv_bytes, loan_row, three_loans

pytestmark = pytest.mark.django_db(transaction=True)


def task_outcome(worker: WorkerProcess, task_id: str) -> str | None:
    """What the worker logged as the task's return value once it finished it; None before that."""
    # celery logs "Task loans.tasks.import_loan_book[<id>] succeeded in 0.01s: <return value>".
    found = re.search(rf"\[{re.escape(task_id)}\] succeeded in [\d.]+s: (.*)$", worker.output(), re.MULTILINE)
    return found.group(1).strip() if found else None


def test_a_real_worker_imports_an_uploaded_file_and_a_second_delivery_does_nothing(
    bank, admin_user, celery_worker_factory
):
    rows = three_loans() + [loan_row(loan_no=f"W-{i:05d}", borrower_id_no=f"WID-{i:05d}") for i in range(2000)]
    batch = import_batch_create(
        actor=admin_user,
        source=ImportBatch.Source.PAGE,
        dry_run=False,
        as_of=AS_OF,
        file_name="book.csv",
        files={"loans": SimpleUploadedFile("book.csv", csv_bytes(rows))},
    )
    worker = celery_worker_factory()
    import_loan_book.apply_async(args=[batch.pk], queue=celery_worker_factory.queue)
    assert wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).is_finished, timeout=120)
    batch.refresh_from_db()
    assert batch.status == "imported", (batch.errors, batch.message)
    assert (batch.created, batch.rows_read, batch.rows_written) == (2003, 2003, 2003)
    assert Loan.objects.count() == 2003

    # Delivered again (acks_late after a lost worker, say): the batch is done, nothing runs twice.
    again = import_loan_book.apply_async(args=[batch.pk], queue=celery_worker_factory.queue)
    assert wait_for(lambda: task_outcome(worker, again.id) is not None, timeout=60), worker.output()
    assert task_outcome(worker, again.id) == f"{{'batch': {batch.pk}, 'skipped': True}}"
    assert ImportBatch.objects.get(pk=batch.pk).finished_at == batch.finished_at
    assert Loan.objects.count() == 2003


def test_a_batch_left_running_by_a_dead_worker_is_taken_again_but_not_a_live_ones(bank, admin_user, require_postgres):
    import psycopg
    from django.db import connection

    from loans.importing.services import _RUN_LOCK, import_batch_claim, import_batch_run

    batch = import_batch_create(
        actor=admin_user,
        source=ImportBatch.Source.PAGE,
        dry_run=False,
        as_of=AS_OF,
        file_name="book.csv",
        files={"loans": SimpleUploadedFile("book.csv", csv_bytes(three_loans()))},
    )
    ImportBatch.objects.filter(pk=batch.pk).update(status="running", rows_read=7)  # its worker was killed

    s = connection.settings_dict
    other = psycopg.connect(
        dbname=s["NAME"], user=s["USER"], host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, autocommit=True
    )
    with other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [_RUN_LOCK, batch.pk])  # a live worker has it
        assert import_batch_claim(batch_id=batch.pk) is None
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [_RUN_LOCK, batch.pk])

    claimed = import_batch_claim(batch_id=batch.pk)
    assert claimed is not None and claimed.rows_read == 0
    assert import_batch_run(batch=claimed).batch.status == "imported"
    assert import_batch_claim(batch_id=batch.pk) is None  # finished
    assert Loan.objects.count() == 3
