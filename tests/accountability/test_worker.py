"""The daily checks on real Celery workers (Redis in CI): beat's schedule, a full run, a worker
killed in the middle of a run, a failure at the database, and two workers running the same checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import psutil
import pytest
from django.db import connection
from django.db.utils import DatabaseError

from accountability.daily_checks import CHECKS, check_run
from accountability.models import (
    AccountabilityRecord,
    DailyCheckRun,
    DeadlineReminder,
    LimitationWarning,
    PromiseAlert,
)
from accountability.schedule import daily_checks_schedule, parse_time_of_day
from accountability.tasks import CHECK_TASKS, checks_chain
from audit.models import AuditEvent
from collections_app.models import CollectionCase, PromiseToPay
from collections_app.services import promise_record
from notifications.models import Notification
from tests.accountability.conftest import OPENED, open_npl_case
from tests.conftest import ROOT, wait_for

# The day after the default time limit of the cases opened on OPENED (180 days).
MISSED = OPENED + timedelta(days=181)


# --- beat ------------------------------------------------------------------------------------------


def test_beat_schedule_contains_every_check_at_the_configured_time(settings):
    from npl_recovery.celery import app

    entries = app.conf.beat_schedule
    scheduled = {e["task"] for e in entries.values()}
    assert {f"accountability.check_{name}" for name in CHECKS} <= scheduled
    assert "notifications.tasks.send_pending_emails" in scheduled
    assert set(CHECK_TASKS) == set(CHECKS)
    for name in CHECKS:
        assert f"accountability.check_{name}" in app.tasks
    hour, minute = parse_time_of_day(settings.NPL_DAILY_CHECKS_AT)
    snapshot = entries["daily-month-end-snapshot"]
    assert snapshot["kwargs"] == {"days_ago": 1}  # yesterday's close, before today's reclassification
    assert snapshot["schedule"].hour == {hour} and snapshot["schedule"].minute == {minute}
    reclassify = entries["daily-reclassify"]["schedule"]
    later = entries["daily-deadline-missed"]["schedule"]
    assert (min(reclassify.hour), min(reclassify.minute)) < (min(later.hour), min(later.minute))


def test_the_time_of_day_is_a_setting_and_wraps_past_midnight():
    schedule = daily_checks_schedule("23:50")
    assert schedule["daily-month-end-snapshot"]["schedule"].hour == {23}
    assert schedule["daily-watch-list"]["schedule"].hour == {0}
    assert schedule["daily-watch-list"]["schedule"].minute == {10}
    from django.core.exceptions import ImproperlyConfigured

    for bad in ("25:00", "2.30", "", "02:61"):
        with pytest.raises(ImproperlyConfigured, match="NPL_DAILY_CHECKS_AT"):
            parse_time_of_day(bad)


def test_a_real_beat_process_loads_every_check(tmp_path):
    """Start `celery beat` (it only reads its schedule here; nothing is due) and read what it loaded."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "npl_recovery", "beat", "-l", "debug", "-s", str(tmp_path / "sched")],
        cwd=ROOT,
        env={**os.environ, "NPL_DAILY_CHECKS_AT": "03:15", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = ""
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Ticking" not in output:
            line = proc.stdout.readline()
            if not line:
                break
            output += line
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert "Current schedule" in output, output
    for name in CHECKS:
        assert f"accountability.check_{name}()" in output or f"accountability.check_{name}(days_ago=1)" in output
    assert "<crontab: 35 3 * * *" in output and "<crontab: 20 3 * * *" in output  # snapshot 03:15, reclassify 03:20


# --- a story with something for every check ----------------------------------------------------------


def _book(branch, officer, n_cases: int) -> list[CollectionCase]:
    """`n_cases` NPLs opened on OPENED: their time limits are missed on MISSED; one promise each."""
    cases = [open_npl_case(branch=branch, officer=officer) for _ in range(n_cases)]
    for case in cases[: max(1, n_cases // 5)]:
        promise_record(
            case=case, actor=officer, promised_on=OPENED, amount=Decimal("1000"), due_on=MISSED - timedelta(days=1)
        )
    return cases


def _outcome() -> dict[str, int]:
    return {
        "records": AccountabilityRecord.objects.count(),
        "record_keys": AccountabilityRecord.objects.values("assignment", "officer", "record_type").distinct().count(),
        "notifications": Notification.objects.count(),
        "proposal_audits": AuditEvent.objects.filter(event_type="accountability.proposed").count(),
        "broken": PromiseToPay.objects.filter(status="broken").count(),
        "promise_alerts": PromiseAlert.objects.count(),
        "reminders": DeadlineReminder.objects.count(),
        "limitation": LimitationWarning.objects.count(),
    }


def _wait_runs(name: str, as_of: date, n: int, timeout: float = 120) -> None:
    ok = wait_for(
        lambda: DailyCheckRun.objects.filter(check_name=name, as_of=as_of, status="done").count() >= n,
        timeout=timeout,
    )
    assert ok, list(DailyCheckRun.objects.values("check_name", "status", "error"))


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_every_check_in_order(celery_worker_factory, branch, officer, manager):
    _book(branch, officer, 3)
    worker = celery_worker_factory()
    checks_chain(as_of=MISSED, queue=celery_worker_factory.queue).apply_async()
    _wait_runs("month_end_snapshot", MISSED, 1)
    runs = list(DailyCheckRun.objects.order_by("started_at", "id"))
    assert [r.check_name for r in runs] == list(CHECKS)
    assert all(r.status == "done" and r.runner.startswith("celery") for r in runs), worker.output()
    assert AccountabilityRecord.objects.filter(origin="missed_deadline").count() == 3
    assert PromiseToPay.objects.filter(status="broken").count() == 1
    assert Notification.objects.filter(recipient=manager, kind="deadline.missed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_recovery_page_action_reaches_the_worker_on_commit(celery_worker_factory, branch, officer, manager):
    from collections_app.services import recovery_record

    case = open_npl_case(branch=branch, officer=officer)
    from npl_recovery.celery import app

    app.conf.task_default_queue = celery_worker_factory.queue  # this process's on-commit sends go there
    try:
        celery_worker_factory()
        recovery_record(
            case=case, actor=officer, received_on=date(2026, 2, 1), amount=Decimal("81500"), as_of=date(2026, 2, 1)
        )
        assert wait_for(lambda: AccountabilityRecord.objects.filter(kind="reward").exists(), timeout=60)
    finally:
        app.conf.task_default_queue = "celery"
    assert AccountabilityRecord.objects.get(kind="reward").amount == Decimal("815.00")


# --- failures in the middle of a run -----------------------------------------------------------------

_SLOW_PG = """
CREATE OR REPLACE FUNCTION test_slow_insert() RETURNS trigger AS $$
BEGIN PERFORM pg_sleep(%s); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER test_slow_insert BEFORE INSERT ON accountability_accountabilityrecord
    FOR EACH ROW EXECUTE FUNCTION test_slow_insert();
"""
_DROP_SLOW_PG = """
DROP TRIGGER IF EXISTS test_slow_insert ON accountability_accountabilityrecord;
DROP FUNCTION IF EXISTS test_slow_insert();
"""


def _sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def _database_sessions_of(process: psutil.Process) -> list[int]:
    """The local ports of a process's TCP connections to this run's PostgreSQL server."""
    port = int(connection.settings_dict.get("PORT") or 5432)
    return [c.laddr.port for c in process.net_connections(kind="tcp") if c.raddr and c.raddr.port == port]


def _sessions_alive(client_ports: list[int]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND client_port = ANY(%s)",
            [client_ports],
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_run_loses_and_duplicates_nothing(
    require_postgres, celery_worker_factory, branch, officer, manager
):
    n = 40
    _book(branch, officer, n)
    _sql(_SLOW_PG % "0.05")  # 50 ms a row: the run takes ~2 s, in batches of 5
    try:
        worker = celery_worker_factory(extra_env={"NPL_DAILY_CHECKS_BATCH_SIZE": "5"})
        CHECK_TASKS["deadline_missed"].apply_async(
            kwargs={"as_of": MISSED.isoformat()}, queue=celery_worker_factory.queue
        )
        assert wait_for(lambda: AccountabilityRecord.objects.count() >= 10, timeout=60), worker.output()
        (child,) = psutil.Process(worker.proc.pid).children()
        sessions = _database_sessions_of(child)
        assert sessions, "the child running the task has no database session"
        child.kill()  # the process running the task dies mid-run (batches 1..k committed)
        child.wait(timeout=10)
        # The child's server session outlives it until it reads the closed socket: it finishes the
        # statement it runs and commits a COMMIT already sent (or rolls back). Count once it is gone.
        assert wait_for(lambda: not _sessions_alive(sessions), timeout=30, interval=0.01)
        seen_after_kill = AccountabilityRecord.objects.count()
        assert 0 < seen_after_kill < n
        # acks_late + reject_on_worker_lost: the message goes back to the queue and a new child reruns it.
        _wait_runs("deadline_missed", MISSED, 1)
    finally:
        _sql(_DROP_SLOW_PG)
    runs = list(DailyCheckRun.objects.filter(check_name="deadline_missed").order_by("id"))
    assert [r.status for r in runs] == ["running", "done"]  # the killed run, then the rerun
    # The rerun did only what the killed run left. The count above can be early: a batch the dead
    # child had already sent may still commit after its session is seen gone (CI once saw 10, then
    # a rerun of 25: 15 had committed). So the rerun did at most what was left then, and with the
    # killed run's rows makes every proposal exactly once (below).
    rerun = runs[1].counts["sanctions_proposed"]
    assert 0 < rerun <= n - seen_after_kill
    outcome = _outcome()
    assert outcome["records"] == outcome["record_keys"] == outcome["proposal_audits"] == n
    assert Notification.objects.filter(kind="record.proposed").count() == n
    assert Notification.objects.filter(recipient=manager, kind="deadline.missed").count() == 1
    assert "WorkerLostError" in worker.output() or "signal 9" in worker.output()


_FAIL = {
    "postgresql": (
        """
        CREATE OR REPLACE FUNCTION test_fail_insert() RETURNS trigger AS $$
        BEGIN
            IF (SELECT count(*) FROM accountability_accountabilityrecord) >= 10 THEN
                RAISE EXCEPTION 'simulated database failure';
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER test_fail_insert BEFORE INSERT ON accountability_accountabilityrecord
            FOR EACH ROW EXECUTE FUNCTION test_fail_insert();
        """,
        "DROP TRIGGER test_fail_insert ON accountability_accountabilityrecord; DROP FUNCTION test_fail_insert();",
    ),
    "sqlite": (
        """
        CREATE TRIGGER test_fail_insert BEFORE INSERT ON accountability_accountabilityrecord
        WHEN (SELECT count(*) FROM accountability_accountabilityrecord) >= 10
        BEGIN SELECT RAISE(ABORT, 'simulated database failure'); END;
        """,
        "DROP TRIGGER test_fail_insert;",
    ),
}


@pytest.mark.django_db(transaction=True)
def test_a_failure_at_the_database_mid_run_then_a_rerun_completes_exactly(branch, officer, manager, settings):
    settings.NPL_DAILY_CHECKS_BATCH_SIZE = 5
    n = 23
    _book(branch, officer, n)
    create, drop = _FAIL[connection.vendor]
    with connection.cursor() as cursor:
        for statement in [s for s in create.split(";\n") if s.strip()] if connection.vendor == "sqlite" else [create]:
            cursor.execute(statement)
    try:
        with pytest.raises(DatabaseError, match="simulated database failure"):
            check_run(name="deadline_missed", as_of=MISSED)
    finally:
        with connection.cursor() as cursor:
            for statement in drop.split(";"):
                if statement.strip():
                    cursor.execute(statement)
    assert AccountabilityRecord.objects.count() == 10  # two batches of 5 committed, the third failed
    failed = DailyCheckRun.objects.get()
    assert failed.status == "failed" and "simulated database failure" in failed.error

    rerun = check_run(name="deadline_missed", as_of=MISSED)
    assert rerun.counts == {"sanctions_proposed": n - 10, "managers_told": 1}
    outcome = _outcome()
    assert outcome["records"] == outcome["record_keys"] == outcome["proposal_audits"] == n
    assert Notification.objects.filter(kind="record.proposed").count() == n
    assert Notification.objects.filter(recipient=manager, kind="deadline.missed").count() == 1


# --- two workers at once ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_every_check_at_once_do_everything_once(
    require_postgres, celery_worker_factory, branch, officer, manager
):
    n = 40
    _book(branch, officer, n)
    _sql(_SLOW_PG % "0.02")
    try:
        env = {"NPL_DAILY_CHECKS_BATCH_SIZE": "4"}
        first, second = celery_worker_factory(extra_env=env), celery_worker_factory(extra_env=env)
        for _ in range(2):
            checks_chain(as_of=MISSED, queue=celery_worker_factory.queue).apply_async()
        _wait_runs("month_end_snapshot", MISSED, 2, timeout=180)
    finally:
        _sql(_DROP_SLOW_PG)
    runs = DailyCheckRun.objects.filter(check_name="deadline_missed", status="done")
    assert runs.count() == 2
    # Both workers took part (each took one chain's first task; prefetch 1).
    assert len(set(DailyCheckRun.objects.values_list("runner", flat=True))) == 2
    assert sum(r.counts["sanctions_proposed"] for r in runs) == n  # split between them, never both
    outcome = _outcome()
    assert outcome["records"] == outcome["record_keys"] == outcome["proposal_audits"] == n
    assert outcome["broken"] == outcome["promise_alerts"] == n // 5
    assert Notification.objects.filter(kind="record.proposed").count() == n
    assert Notification.objects.filter(kind="promise.broken").count() == n // 5
    assert Notification.objects.filter(recipient=manager, kind="deadline.missed").count() == 1
    assert not DailyCheckRun.objects.filter(status="failed").exists(), first.output() + second.output()
