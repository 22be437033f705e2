"""The registry of the daily checks and the runner that records each run (DailyCheckRun)."""

from __future__ import annotations

import os
import socket
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accountability.daily_checks.batching import Counts
from accountability.daily_checks.deadline_missed import check_deadline_missed
from accountability.daily_checks.deadline_reminders import check_deadline_reminders
from accountability.daily_checks.enforcement_deadlines import check_enforcement_deadlines
from accountability.daily_checks.guarantee_periods import check_guarantee_periods
from accountability.daily_checks.hearings import check_hearings
from accountability.daily_checks.kept_figures import check_kept_figures
from accountability.daily_checks.ledger_invariant import check_ledger_invariant
from accountability.daily_checks.limitation import check_limitation
from accountability.daily_checks.loans_by_loans import check_loans_by_loans
from accountability.daily_checks.month_end_snapshot import check_month_end_snapshot
from accountability.daily_checks.preservation_orders import check_preservation_orders
from accountability.daily_checks.promises import check_promises
from accountability.daily_checks.reclassify import check_reclassify
from accountability.daily_checks.recovered_in_time import check_recovered_in_time
from accountability.daily_checks.time_barred import check_time_barred
from accountability.daily_checks.watch_list import check_watch_list
from accountability.models import DailyCheckRun
from loans.models import ClassificationRun
from npl_recovery.jobs import CHECK_RUN_LOCK


@dataclass(frozen=True)
class Check:
    name: str
    label: str  # what the check does, for people (translatable)
    run: Callable[..., Counts]
    # Needs today's classification first (beat starts it later; the task waits for it).
    after_reclassify: bool = True
    # Is also handed its DailyCheckRun (`run=`): the subject of the audit events of its system writes.
    takes_run: bool = False

    @property
    def task_name(self) -> str:
        """The name of its Celery task (accountability/tasks.py) in beat's schedule and the queues."""
        return f"accountability.check_{self.name}"


CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        Check(
            "reclassify",
            _("Reclassify the book, open cases, first divisions"),
            check_reclassify,
            after_reclassify=False,
            takes_run=True,
        ),
        Check("deadline_reminders", _("Time-limit reminders"), check_deadline_reminders),
        Check("deadline_missed", _("Time limits missed: sanctions proposed"), check_deadline_missed),
        Check("recovered_in_time", _("Recovered within the time limit: rewards"), check_recovered_in_time),
        Check("promises", _("Promises to pay due and broken"), check_promises),
        Check("limitation", _("Limitation-period warnings"), check_limitation),
        Check("time_barred", _("Time-barred claims"), check_time_barred),
        Check("hearings", _("Hearing reminders"), check_hearings),
        Check("preservation_orders", _("Preservation orders expiring or lapsed"), check_preservation_orders),
        Check("enforcement_deadlines", _("Enforcement application deadlines"), check_enforcement_deadlines),
        Check("guarantee_periods", _("Guarantee periods ending or lapsed"), check_guarantee_periods),
        Check("loans_by_loans", _("Loans-by-loans detector"), check_loans_by_loans),
        Check("watch_list", _("Prevention watch list"), check_watch_list),
        Check("ledger_invariant", _("Ledger: balances explained by their entries"), check_ledger_invariant),
        Check("kept_figures", _("Dashboard figures: kept cells equal to the book"), check_kept_figures),
        Check("month_end_snapshot", _("Month-end snapshot"), check_month_end_snapshot, after_reclassify=False),
    )
}


def runner_name() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


class RunningBackInTime(ValueError):
    """A check asked for a date before the book's last classification (issue 11, item 10)."""


def last_classified_on() -> date | None:
    """The as-of date of the book's latest classification: the latest whole-book ClassificationRun (the
    daily run, `loans_reclassify` over every loan). A loan classified on its own (after a recovery or a
    correction) does not move the book's date."""
    return ClassificationRun.objects.filter(whole_book=True).aggregate(last=Max("as_of"))["last"]


def back_in_time_refusal(as_of: date) -> str | None:
    """Why the checks may not run for `as_of` (None: they may).

    The book holds one state, today's: its classes, balances and overdue dates are as of its last
    classification. A check for an earlier date would compare that date against a later book (the
    upgrade hold compared June against December) and write classes, cases and proposals that were
    never true then. Missed days are run forward, one by one (run_daily_checks --from D1 --to D2).
    """
    last = last_classified_on()
    if last is not None and as_of < last:
        return gettext(
            "The checks cannot run as of %(as_of)s: the book was last classified as of %(last)s, and its "
            "classes, balances and overdue dates are as of that day, not %(as_of)s. Run missed days "
            "forward, one by one, from %(last)s on."
        ) % {"as_of": as_of.isoformat(), "last": last.isoformat()}
    return None


def check_run(*, name: str, as_of: date, runner: str = "") -> DailyCheckRun:
    """Run one check, recording the run (start, end, counts, or the error) in DailyCheckRun.

    Refuses (RunningBackInTime, nothing written) a date before the book's last classification.
    """
    if name not in CHECKS:
        raise ValueError(f"Unknown daily check {name!r}; the checks are: {', '.join(CHECKS)}")
    refusal = back_in_time_refusal(as_of)
    if refusal:
        raise RunningBackInTime(refusal)
    check = CHECKS[name]
    # Seen running only with its lock held: the lock shows this process is alive (npl_recovery/jobs.py).
    with transaction.atomic():
        run = DailyCheckRun.objects.create(check_name=name, as_of=as_of, runner=(runner or runner_name())[:200])
        CHECK_RUN_LOCK.take(run.pk)
    try:
        counts = check.run(as_of=as_of, run=run) if check.takes_run else check.run(as_of=as_of)
    except Exception as exc:
        DailyCheckRun.objects.filter(pk=run.pk).update(
            status=DailyCheckRun.Status.FAILED,
            finished_at=timezone.now(),
            error="".join(traceback.format_exception_only(type(exc), exc))[:2000],
        )
        raise
    finally:
        CHECK_RUN_LOCK.release(run.pk)
    DailyCheckRun.objects.filter(pk=run.pk).update(
        status=DailyCheckRun.Status.DONE, finished_at=timezone.now(), counts=counts
    )
    run.refresh_from_db()
    return run


def checks_run_all(*, as_of: date, only: Iterable[str] | None = None, runner: str = "") -> list[DailyCheckRun]:
    """Every check (or `only` these) for `as_of`, in order: reclassification first."""
    names = list(CHECKS) if not only else [n for n in CHECKS if n in set(only)]
    refusal = back_in_time_refusal(as_of)
    if refusal:  # before the first check: nothing is written
        raise RunningBackInTime(refusal)
    return [check_run(name=name, as_of=as_of, runner=runner) for name in names]


def days_forward(first: date, last: date) -> list[date]:
    """The days from `first` to `last`, in order: missed days are run forward one by one."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
