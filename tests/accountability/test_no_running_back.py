"""Issue 11, item 10: no running back in time.

`run_daily_checks --as-of 2026-06-30` after the book was classified as of December wrote classes that
were never true on June 30 (the upgrade hold compared June against December). Now a date before the
book's last classification is refused by the command, the Celery task and the service under them,
naming both dates, and nothing is written; missed days are run forward one by one (--from/--to).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accountability.daily_checks import CHECKS, RunningBackInTime, check_run, checks_run_all
from accountability.models import DailyCheckRun
from accountability.tasks import CHECK_TASKS
from audit.models import AuditEvent
from collections_app.models import CollectionCase
from loans.models import ClassificationChange, ClassificationRun, Loan
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db

DECEMBER = date(2026, 12, 1)
JUNE = date(2026, 6, 30)


def _state() -> tuple:
    """Everything a run of the checks writes, counted."""
    return (
        list(Loan.objects.order_by("pk").values_list("five_level_class", "four_level_class", "five_level_rule")),
        ClassificationChange.objects.count(),
        ClassificationRun.objects.count(),
        CollectionCase.objects.count(),
        DailyCheckRun.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def december_book(branch, officer):
    """A loan in arrears since January (substandard by December), and one that cleared its arrears in
    November: in December it is held substandard; in June it was never cleared."""
    bad = LoanFactory(branch=branch, responsible_officer=officer, overdue_since=date(2026, 1, 5))
    cleared = LoanFactory(
        branch=branch,
        responsible_officer=officer,
        overdue_since=None,
        arrears_cleared_on=date(2026, 11, 20),
        five_level_class="substandard",
    )
    call_command("run_daily_checks", "--as-of", DECEMBER.isoformat())
    return bad, cleared


def test_the_command_refuses_june_after_december_naming_both_dates_and_writes_nothing(december_book):
    before = _state()
    with pytest.raises(CommandError) as refused:
        call_command("run_daily_checks", "--as-of", JUNE.isoformat())
    assert "2026-06-30" in str(refused.value) and "2026-12-01" in str(refused.value)
    assert _state() == before


def test_one_check_refused_too_and_the_service_under_the_command(december_book):
    before = _state()
    for name in CHECKS:
        with pytest.raises(RunningBackInTime, match="2026-12-01"):
            check_run(name=name, as_of=JUNE)
    with pytest.raises(RunningBackInTime):
        checks_run_all(as_of=JUNE)
    with pytest.raises(CommandError, match="2026-06-30"):
        call_command("run_daily_checks", "--as-of", JUNE.isoformat(), "--only", "watch_list")
    assert _state() == before


def test_the_celery_task_refuses_without_retrying_and_writes_nothing(december_book):
    before = _state()
    result = CHECK_TASKS["reclassify"].apply(kwargs={"as_of": JUNE.isoformat()}).get()
    assert result["as_of"] == "2026-06-30" and "2026-12-01" in result["refused"]
    assert _state() == before


def test_the_same_day_and_later_days_still_run(december_book):
    call_command("run_daily_checks", "--as-of", DECEMBER.isoformat(), "--only", "reclassify")
    call_command("run_daily_checks", "--as-of", (DECEMBER + timedelta(days=1)).isoformat(), "--only", "reclassify")
    assert DailyCheckRun.objects.filter(check_name="reclassify", status="done").count() == 3


def test_missed_days_run_forward_one_by_one(december_book, capsys):
    capsys.readouterr()
    call_command("run_daily_checks", "--from", "2026-12-02", "--to", "2026-12-04", "--only", "reclassify,watch_list")
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == [
        "reclassify as of 2026-12-02",
        "watch_list as of 2026-12-02",
        "reclassify as of 2026-12-03",
        "watch_list as of 2026-12-03",
        "reclassify as of 2026-12-04",
        "watch_list as of 2026-12-04",
    ]
    assert ClassificationRun.objects.order_by("-as_of").values_list("as_of", flat=True)[0] == date(2026, 12, 4)


def test_a_forward_run_starting_before_the_last_classification_is_refused_before_anything_runs(december_book):
    before = _state()
    with pytest.raises(CommandError, match="2026-11-30"):
        call_command("run_daily_checks", "--from", "2026-11-30", "--to", "2026-12-03")
    assert _state() == before


def test_a_bank_without_any_classification_yet_may_start_on_any_day(branch):
    LoanFactory(branch=branch, overdue_since=date(2026, 1, 5))
    check_run(name="reclassify", as_of=JUNE)
    assert ClassificationRun.objects.get().as_of == JUNE
