"""Every task has a bounded number of deliveries (npl_recovery.celery.BoundedTask): counted when
a delivery starts and forgotten when it ends, so only deliveries whose worker process died add up."""

from __future__ import annotations

import pytest

from loans.models import ImportBatch
from loans.tasks import import_loan_book, reclassify_book
from npl_recovery.celery import BoundedTask, app, delivery_key_count, delivery_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _deliver(task, *args, task_id: str = "delivery-under-test"):
    """Run the task as a worker delivery would (not eager, not called directly)."""
    task.push_request(id=task_id, called_directly=False, is_eager=False, args=args, kwargs={})
    try:
        return task(*args)
    finally:
        task.pop_request()


def test_every_task_of_the_project_is_bounded():
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert ours and all(isinstance(task, BoundedTask) for task in ours.values()), [
        name for name, task in ours.items() if not isinstance(task, BoundedTask)
    ]


def test_a_batch_whose_deliveries_are_spent_is_failed_with_the_reason_and_not_run(branch, settings):
    admin = UserFactory(username="admin", role="admin", branch=branch, is_staff=True)
    batch = ImportBatch.objects.create(created_by=admin, source="page", as_of="2026-06-30", file_name="x.csv")
    key = "task:delivery-under-test"
    for _ in range(settings.NPL_JOB_MAX_ATTEMPTS):
        delivery_record(key)  # three deliveries whose worker died
    assert _deliver(import_loan_book, batch.pk) is None
    batch.refresh_from_db()
    assert (batch.status, batch.phase) == ("failed", "done")
    assert "stopped 3 times before it finished" in batch.message
    assert delivery_key_count(key) == 0


def test_a_delivery_that_ends_normally_is_not_counted_against_the_next(branch, settings):
    key = "task:delivery-under-test"
    for _ in range(5):
        _deliver(reclassify_book, "2026-06-30")
        assert delivery_key_count(key) == 0


def test_eager_runs_and_direct_calls_are_not_counted(branch):
    reclassify_book.apply(args=["2026-06-30"], task_id="eager-run")
    reclassify_book("2026-06-30")
    assert delivery_key_count("task:eager-run") == 0
