"""A worker killed in the middle of an import; the next worker to start takes the batch over
(real Celery workers on Redis, PostgreSQL)."""

from __future__ import annotations

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from audit.models import AuditEvent
from loans.importing.services import _RUN_LOCK, import_batch_create
from loans.models import Branch, ImportBatch, Loan, Role
from loans.tasks import import_loan_book
from tests.conftest import wait_for
from tests.factories import BranchFactory, UserFactory
from tests.imports.conftest import AS_OF, csv_bytes, loan_row

_SLOW_LOAN_INSERT = """
CREATE OR REPLACE FUNCTION test_slow_insert() RETURNS trigger AS $$
BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER test_slow_insert BEFORE INSERT ON loans_loan FOR EACH ROW EXECUTE FUNCTION test_slow_insert();
"""
_DROP_SLOW_LOAN_INSERT = """
DROP TRIGGER IF EXISTS test_slow_insert ON loans_loan; DROP FUNCTION IF EXISTS test_slow_insert();
"""


def _sql(statement: str, *params) -> list:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


def _lock_held(batch_id: int) -> bool:
    return bool(
        _sql(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s",
            _RUN_LOCK,
            batch_id,
        )
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_starting_up_takes_over_the_import_a_killed_worker_left_running(
    require_postgres, celery_worker_factory
):
    head = BranchFactory(code="HO", kind=Branch.Kind.HEAD_OFFICE, parent=None)
    BranchFactory(code="B01", parent=head)
    admin = UserFactory(username="admin", role=Role.ADMIN, branch=head, is_superuser=True)
    UserFactory(username="officer", role=Role.OFFICER, branch=Branch.objects.get(code="B01"))
    rows = [loan_row(loan_no=f"K-{i:03d}", borrower_id_no=f"KID-{i:03d}") for i in range(60)]
    batch = import_batch_create(
        actor=admin, source=ImportBatch.Source.PAGE, dry_run=False, as_of=AS_OF, file_name="book.csv",
        files={"loans": SimpleUploadedFile("book.csv", csv_bytes(rows))},
    )  # fmt: skip
    _sql(_SLOW_LOAN_INSERT)  # 50 ms a loan: the write takes 3 s
    try:
        first = celery_worker_factory()
        import_loan_book.apply_async(args=[batch.pk], queue=celery_worker_factory.queue)
        assert wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).phase == "writing", timeout=60), first.output()
        # The whole worker dies (its container is killed): the main process first, so nobody
        # hands the message back; then the pool process in the middle of the write.
        main = psutil.Process(first.proc.pid)
        children = main.children(recursive=True)
        main.kill()
        for child in children:
            child.kill()
        first.stop()
        # The database ends the dead worker's session (its write rolled back) and drops its lock.
        assert wait_for(lambda: not _lock_held(batch.pk), timeout=30)
    finally:
        _sql(_DROP_SLOW_LOAN_INSERT)
    left = ImportBatch.objects.get(pk=batch.pk)
    assert (left.status, Loan.objects.count()) == ("running", 0)  # left running, nothing written

    second = celery_worker_factory()  # its start-up recovers the batch and takes it
    assert wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).is_finished, timeout=90), second.output()
    done = ImportBatch.objects.get(pk=batch.pk)
    assert (done.status, done.attempts, done.created) == ("imported", 2, 60), done.message
    assert Loan.objects.count() == 60
    assert AuditEvent.objects.filter(event_type="system.import_batch.requeued", subject_id=batch.pk).count() == 1
