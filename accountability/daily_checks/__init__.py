"""The daily checks: each a service that takes `as_of`, idempotent and safe to run in two workers.

How each check stays correct when it is rerun, killed half-way or run twice at once:
- what it produces has a unique key in the database (one reminder per division and window, one
  proposal per division, officer and type, one notification per event and recipient, ...);
- it works in batches, each its own transaction, so a killed run keeps what it finished and a
  rerun only finds what is left ("process what still has no result"; batching.py);
- where two workers could pick the same rows, a batch claims them with
  `SELECT ... FOR NO KEY UPDATE SKIP LOCKED` and re-reads them under the lock, so the second
  worker takes the next rows instead of waiting for (or repeating) the first one's.

One module per check; the registry (registry.py) names them in order and runs one with its
DailyCheckRun. Celery tasks (tasks.py, generated from the registry), beat (schedule.py) and
`manage.py run_daily_checks` call `check_run`.
"""

from accountability.daily_checks.batching import Counts, batch_size
from accountability.daily_checks.deadline_missed import check_deadline_missed
from accountability.daily_checks.deadline_reminders import check_deadline_reminders
from accountability.daily_checks.kept_figures import check_kept_figures
from accountability.daily_checks.ledger_invariant import check_ledger_invariant
from accountability.daily_checks.limitation import check_limitation
from accountability.daily_checks.loans_by_loans import check_loans_by_loans
from accountability.daily_checks.month_end_snapshot import check_month_end_snapshot
from accountability.daily_checks.promises import check_promises
from accountability.daily_checks.reclassify import check_reclassify
from accountability.daily_checks.recovered_in_time import check_recovered_in_time
from accountability.daily_checks.registry import (
    CHECKS,
    Check,
    RunningBackInTime,
    back_in_time_refusal,
    check_run,
    checks_run_all,
    days_forward,
    runner_name,
)
from accountability.daily_checks.watch_list import check_watch_list

__all__ = [
    "CHECKS",
    "Check",
    "Counts",
    "RunningBackInTime",
    "back_in_time_refusal",
    "batch_size",
    "check_deadline_missed",
    "check_deadline_reminders",
    "check_kept_figures",
    "check_ledger_invariant",
    "check_limitation",
    "check_loans_by_loans",
    "check_month_end_snapshot",
    "check_promises",
    "check_reclassify",
    "check_recovered_in_time",
    "check_run",
    "check_watch_list",
    "checks_run_all",
    "days_forward",
    "runner_name",
]
