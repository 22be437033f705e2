"""Import batches that a worker that is gone left queued or running: sent to the workers again,
or failed with the reason (npl_recovery/jobs.py), never sent round forever."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from loans.importing.services import _RUN_LOCK, import_batch_create, import_batches_recover_stale
from loans.models import ImportBatch, Loan
from tests.imports.conftest import AS_OF, csv_bytes, three_loans

pytestmark = pytest.mark.django_db

# Past the longest a task may run: lost on SQLite too, where no lock tells a live worker's batch.
LONG_AGO = timedelta(hours=4)


def page_batch(admin_user, **state) -> ImportBatch:
    batch = import_batch_create(
        actor=admin_user,
        source=ImportBatch.Source.PAGE,
        dry_run=False,
        as_of=AS_OF,
        file_name="book.csv",
        files={"loans": SimpleUploadedFile("book.csv", csv_bytes(three_loans()))},
    )
    ImportBatch.objects.filter(pk=batch.pk).update(**state)
    return ImportBatch.objects.get(pk=batch.pk)


def test_a_batch_left_running_by_a_worker_that_is_gone_is_sent_again_and_imported(
    bank, admin_user, eager_celery, django_capture_on_commit_callbacks
):
    now = timezone.now()
    batch = page_batch(admin_user, status="running", phase="writing", rows_read=7, started_at=now - LONG_AGO)
    assert batch.attempts == 1  # sent once, when it was uploaded

    with django_capture_on_commit_callbacks(execute=True):
        recovered = import_batches_recover_stale(now=now)

    assert [(job.id, job.outcome) for job in recovered] == [(batch.pk, "requeued")]
    assert recovered[0].reason == "The worker running it stopped. Sent to the workers again (attempt 2 of 3)."
    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.created) == ("imported", 2, 3)
    assert Loan.objects.count() == 3
    event = AuditEvent.objects.get(event_type="system.import_batch.requeued")
    assert (event.subject_id, event.actor_id) == (batch.pk, None)
    assert event.old_values == {"status": "running", "attempts": 1}
    assert event.new_values == {"status": "queued", "attempts": 2}


def test_a_batch_a_live_worker_runs_is_left_alone(bank, admin_user, require_postgres):
    import psycopg

    now = timezone.now()
    batch = page_batch(admin_user, status="running", started_at=now - LONG_AGO)
    s = connection.settings_dict
    other = psycopg.connect(
        dbname=s["NAME"], user=s["USER"], host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, autocommit=True
    )
    with other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [_RUN_LOCK, batch.pk])  # the live worker's session
        assert import_batches_recover_stale(now=now) == []
    assert ImportBatch.objects.get(pk=batch.pk).status == "running"
    assert not AuditEvent.objects.filter(event_type__startswith="system.import_batch").exists()


def test_a_batch_out_of_attempts_is_failed_with_the_reason_and_not_sent_again(
    bank, admin_user, client, django_capture_on_commit_callbacks
):
    now = timezone.now()
    batch = page_batch(admin_user, status="running", attempts=3, started_at=now - LONG_AGO)

    with django_capture_on_commit_callbacks() as sent:
        recovered = import_batches_recover_stale(now=now)

    assert [(job.id, job.outcome) for job in recovered] == [(batch.pk, "failed")]
    assert sent == []
    batch.refresh_from_db()
    assert (batch.status, batch.finished_at, batch.attempts) == ("failed", now, 3)
    assert batch.message == (
        "The worker running it stopped. Given up after 3 attempts. Nothing was written; import the file again."
    )
    client.force_login(admin_user)
    assert "Given up after 3 attempts" in client.get(batch.get_absolute_url()).content.decode()
    assert AuditEvent.objects.get(event_type="system.import_batch.failed").subject_id == batch.pk


def test_an_import_from_the_command_line_cut_off_is_failed_not_sent_again(
    bank, admin_user, django_capture_on_commit_callbacks
):
    now = timezone.now()
    batch = ImportBatch.objects.create(
        source=ImportBatch.Source.COMMAND, as_of=AS_OF, file_name="book.csv", status="running",
        started_at=now - LONG_AGO, attempts=1,
    )  # fmt: skip
    with django_capture_on_commit_callbacks() as sent:
        assert [job.outcome for job in import_batches_recover_stale(now=now)] == ["failed"]
    assert sent == []
    batch.refresh_from_db()
    assert batch.status == "failed"
    assert batch.message.startswith("The process running this import stopped before it finished.")


def test_a_queued_batch_whose_message_was_lost_is_sent_again_until_its_last_attempt(
    bank, admin_user, django_capture_on_commit_callbacks
):
    now = timezone.now()
    batch = page_batch(admin_user, created_at=now - timedelta(hours=2))  # queued, no worker ever took it

    with django_capture_on_commit_callbacks() as sent:
        (job,) = import_batches_recover_stale(now=now)
    assert (job.outcome, len(sent)) == ("requeued", 1)
    assert job.reason.startswith("No worker had taken it since ") and job.reason.endswith("(attempt 2 of 3).")
    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.queued_at) == ("queued", 2, now)

    with django_capture_on_commit_callbacks() as sent:  # a second worker starting at the same time
        assert import_batches_recover_stale(now=now) == []
    assert sent == []

    later = now + timedelta(minutes=31)
    with django_capture_on_commit_callbacks() as sent:
        assert [j.outcome for j in import_batches_recover_stale(now=later)] == ["requeued"]
    assert len(sent) == 1 and ImportBatch.objects.get(pk=batch.pk).attempts == 3

    with django_capture_on_commit_callbacks() as sent:
        (job,) = import_batches_recover_stale(now=later + timedelta(minutes=31))
    assert (job.outcome, sent) == ("failed", [])
    assert "Given up after 3 attempts" in ImportBatch.objects.get(pk=batch.pk).message


def test_a_queued_batch_is_given_its_time_before_its_message_counts_as_lost(bank, admin_user, settings):
    now = timezone.now()
    page_batch(admin_user, created_at=now - timedelta(minutes=29))
    assert import_batches_recover_stale(now=now) == []
    settings.NPL_JOB_STALE_MINUTES = 20
    assert [job.outcome for job in import_batches_recover_stale(now=now)] == ["requeued"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_recovering_at_once_send_a_lost_batch_once(bank, admin_user, require_postgres, require_redis):
    now = timezone.now()
    batch = page_batch(admin_user, status="running", started_at=now - LONG_AGO)
    queue = f"test-recover-{batch.pk}-{threading.get_ident()}"
    start = threading.Barrier(2)
    outcomes: list = []

    def recover() -> None:
        try:
            start.wait()
            outcomes.extend(import_batches_recover_stale(now=now, queue=queue))
        finally:
            connection.close()

    threads = [threading.Thread(target=recover) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    keys = list(broker.scan_iter(f"{queue}*"))
    try:
        assert sum(broker.llen(k) for k in keys) == 1  # one message on the real broker
    finally:
        if keys:
            broker.delete(*keys)
    assert [job.outcome for job in outcomes] == ["requeued"]
    assert AuditEvent.objects.filter(event_type="system.import_batch.requeued").count() == 1
    assert ImportBatch.objects.get(pk=batch.pk).attempts == 2
