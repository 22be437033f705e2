"""The one entry point for jobs a gone worker left behind: the command, beat, the worker's start-up,
and its settings (npl_recovery/jobs.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import timezone

from accountability.models import DailyCheckRun
from loans.models import ExportJob, ImportBatch
from npl_recovery.jobs import jobs_recover_stale, max_attempts, queued_stale_after

LONG_AGO = timedelta(hours=4)


@pytest.mark.django_db
def test_the_command_recovers_every_kind_of_job_and_says_what_it_did(capsys, django_capture_on_commit_callbacks):
    batch = ImportBatch.objects.create(
        source=ImportBatch.Source.COMMAND, as_of=date(2026, 6, 30), file_name="book.csv", status="running",
        started_at=timezone.now() - LONG_AGO, attempts=1,
    )  # fmt: skip
    run = DailyCheckRun.objects.create(
        check_name="limitation", as_of=date(2026, 6, 30), runner="celery celery@gone",
        started_at=timezone.now() - LONG_AGO,
    )  # fmt: skip
    with django_capture_on_commit_callbacks() as sent:
        call_command("recover_stale_jobs")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"import_batch {batch.pk} failed: The process running this import stopped")
    assert out[1].startswith(f"daily_check_run {run.pk} requeued: Stopped: the process running it")
    assert out[-1] == "sent again 1, failed 1"
    assert len(sent) == 1  # the check, sent after commit
    assert jobs_recover_stale(now=timezone.now()) == []  # a second run finds nothing left


def test_beat_recovers_lost_jobs_every_ten_minutes():
    from npl_recovery.celery import app

    entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == "npl_recovery.recover_stale_jobs")
    assert entry["schedule"].minute == set(range(0, 60, 10))
    assert "npl_recovery.recover_stale_jobs" in app.tasks


def test_the_recovery_settings_are_checked_and_named(settings):
    assert (max_attempts(), queued_stale_after()) == (3, timedelta(minutes=30))
    settings.NPL_JOB_MAX_ATTEMPTS = 0
    with pytest.raises(ImproperlyConfigured, match="NPL_JOB_MAX_ATTEMPTS"):
        max_attempts()
    settings.NPL_JOB_STALE_MINUTES = "soon"
    with pytest.raises(ImproperlyConfigured, match="NPL_JOB_STALE_MINUTES"):
        queued_stale_after()


@pytest.mark.django_db
def test_with_nothing_lost_the_recovery_costs_three_queries(django_assert_num_queries, manager):
    ImportBatch.objects.create(source="command", as_of=date(2026, 6, 30), file_name="done.csv", status="imported")
    DailyCheckRun.objects.create(check_name="limitation", as_of=date(2026, 6, 30), status="done")
    ExportJob.objects.create(owner=manager, export="loans", fmt="csv", as_of=date(2026, 6, 30), status="done")
    with django_assert_num_queries(3):  # one look per kind of job; beat runs it every ten minutes
        assert jobs_recover_stale(now=timezone.now()) == []
