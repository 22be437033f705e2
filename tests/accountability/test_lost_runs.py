"""Daily-check runs that a worker that is gone left "running": failed with the reason and, when a
worker ran them, sent to the workers again, at most NPL_JOB_MAX_ATTEMPTS times a day."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accountability.daily_checks import CHECKS, Check, check_run
from accountability.lost_runs import check_runs_recover_stale
from accountability.models import DailyCheckRun
from audit.models import AuditEvent
from npl_recovery.jobs import CHECK_RUN_LOCK
from tests.accountability.conftest import OPENED

pytestmark = pytest.mark.django_db

# Past the longest a task may run: lost on SQLite too, where no lock tells a live run.
LONG_AGO = timedelta(hours=4)


def running(runner: str = "celery celery@gone", **fields) -> DailyCheckRun:
    fields.setdefault("started_at", timezone.now() - LONG_AGO)
    return DailyCheckRun.objects.create(check_name="watch_list", as_of=OPENED, runner=runner, **fields)


def other_session():
    import psycopg

    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"], user=s["USER"], host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, autocommit=True
    )


def test_a_check_a_gone_worker_left_running_is_failed_with_the_reason_and_run_again(
    eager_celery, django_capture_on_commit_callbacks
):
    lost = running()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        (job,) = check_runs_recover_stale(now=now)

    assert (job.id, job.outcome) == (lost.pk, "requeued")
    lost.refresh_from_db()
    assert (lost.status, lost.finished_at) == ("failed", now)
    assert lost.error == (
        "Stopped: the process running it (celery celery@gone) is gone. Sent to the workers again (attempt 2 of 3)."
    )
    rerun = DailyCheckRun.objects.exclude(pk=lost.pk).get()
    assert (rerun.check_name, rerun.as_of, rerun.status) == ("watch_list", OPENED, "done")
    event = AuditEvent.objects.get(event_type="system.daily_check_run.requeued")
    assert event.subject_id == lost.pk and event.actor_id is None


def test_a_check_run_from_the_command_line_is_failed_and_left_to_the_operator(django_capture_on_commit_callbacks):
    lost = running(runner="bank-server pid 4242")
    with django_capture_on_commit_callbacks() as sent:
        assert [job.outcome for job in check_runs_recover_stale(now=timezone.now())] == ["failed"]
    assert sent == []
    lost.refresh_from_db()
    assert lost.status == "failed" and lost.error.endswith("Run it again with manage.py run_daily_checks.")


def test_a_check_tried_its_last_time_today_is_not_sent_again(django_capture_on_commit_callbacks):
    for _ in range(2):
        running(status=DailyCheckRun.Status.FAILED)
    lost = running()
    with django_capture_on_commit_callbacks() as sent:
        assert [job.outcome for job in check_runs_recover_stale(now=timezone.now())] == ["failed"]
    assert sent == []
    assert DailyCheckRun.objects.get(pk=lost.pk).error.endswith("Not sent again: tried 3 times for this day.")


def test_a_check_a_live_worker_runs_is_left_alone(require_postgres):
    live = running()
    with other_session() as session:
        session.execute("SELECT pg_advisory_lock(%s, %s)", [CHECK_RUN_LOCK.namespace, live.pk])
        assert check_runs_recover_stale(now=timezone.now()) == []
    assert DailyCheckRun.objects.get(pk=live.pk).status == "running"


@pytest.mark.django_db(transaction=True)
def test_a_check_holds_its_lock_while_it_runs_and_lets_go_after(require_postgres, monkeypatch):
    seen: dict[str, bool] = {}

    def recover_elsewhere() -> None:  # another worker's recovery, in its own database session
        try:
            seen["recovered while it ran"] = bool(check_runs_recover_stale(now=timezone.now() + LONG_AGO))
        finally:
            connection.close()

    def probe(*, as_of) -> dict:
        run = DailyCheckRun.objects.get(status="running")
        with other_session() as session:
            taken = session.execute("SELECT pg_try_advisory_lock(%s, %s)", [CHECK_RUN_LOCK.namespace, run.pk])
            seen["free while it ran"] = taken.fetchone()[0]
        other = threading.Thread(target=recover_elsewhere)
        other.start()
        other.join(timeout=30)
        return {}

    monkeypatch.setitem(CHECKS, "watch_list", Check("watch_list", "probe", probe))
    run = check_run(name="watch_list", as_of=OPENED)
    assert seen == {"free while it ran": False, "recovered while it ran": False}
    assert run.status == "done"
    with other_session() as session:
        assert session.execute("SELECT pg_try_advisory_lock(%s, %s)", [CHECK_RUN_LOCK.namespace, run.pk]).fetchone()[0]
