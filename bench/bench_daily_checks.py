"""All the daily checks (issue 4) over 1,000,000 loans: target under 120 s on PostgreSQL, memory
flat (peak RSS reported), the time of each check.

Each trial runs four days of checks, every check in the order beat runs them, each timed whole:

1. "first run": the book as it arrives (make_book: every loan unclassified, no case). The
   reclassification check classifies every loan, opens a case for each non-performing one (about
   210,000) and gives each case its first division of responsibility; the other checks follow.
   All of it is inside the timed part.
2. "backlog run", the next day, after a year of history is made with SQL (not timed):
   - the open cases were opened over the past year, so their time limits (180 days) fall on every
     day of the year: about half are already missed, and each day ~1/365 more is missed and as
     many enter each reminder window; the first divisions carry the same dates;
   - a tenth of the cases have a claim running out within four months;
   - 20,000 open promises to pay, due over the past 10 and next 60 days;
   - 20,000 cash repayments over the past 60 days, and 2,000 new loans to those borrowers (the
     "loans by loans" detector has something to find).
   Every time limit already missed gets its sanction proposed, every open promise past due is broken...
3. "a day's run": the checks of the next day, a month's end (the snapshot is taken). Target < 120 s;
4. the same day again (idempotent: nothing new).
The e-mail outbox of each run's notifications is timed apart (in production other workers send it
while the checks run); nothing else is left out.

Reference, in the same trial: one UPDATE of the loans table (the one that resets the book's classes).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import psutil
from django.conf import settings

import notifications.services as notification_services
from accountability.daily_checks import CHECKS, check_run
from bench.common import BENCH_AS_OF, BenchContext, make_book, peak_rss_mb, sql, timed, truncate_apps
from loans.classification import NON_PERFORMING_FIVE_SQL
from notifications.models import Notification
from notifications.services import notifications_send_pending_emails

NPL = NON_PERFORMING_FIVE_SQL
FRESH_DAY = BENCH_AS_OF - timedelta(days=2)
FIRST_DAY = BENCH_AS_OF - timedelta(days=1)  # the backlog run
RUN_DAY = BENCH_AS_OF  # 2026-06-30, a month's end
REFERENCE = "one UPDATE of the loans table"
RUNS = (
    ("first run (fresh book, cases and divisions opened)", FRESH_DAY, ""),
    ("backlog run", FIRST_DAY, "< 120 s"),
    ("a day's run", RUN_DAY, "< 120 s"),
    ("same day again (idempotent)", RUN_DAY, ""),
)


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1024 / 1024


@contextmanager
def _outbox_held() -> Iterator[None]:
    """Notifications are created as usual, but their e-mails wait in the outbox (timed apart)."""
    saved = notification_services._queue_outbox
    notification_services._queue_outbox = lambda: None
    try:
        yield
    finally:
        notification_services._queue_outbox = saved


def _drop_new_loans() -> None:
    new = "SELECT id FROM loans_loan WHERE loan_no LIKE 'BNEW%%'"
    sql(f"DELETE FROM accountability_loansbyloansflag WHERE new_loan_id IN ({new})")
    sql(f"DELETE FROM accountability_watchlistentry WHERE loan_id IN ({new})")
    sql(f"DELETE FROM loans_classificationchange WHERE loan_id IN ({new})")
    # Their opening balances: the ledger is append-only (a trigger), lifted for the bench's reset only.
    sql("ALTER TABLE ledger_ledgerentry DISABLE TRIGGER ledger_append_only")
    sql(f"DELETE FROM ledger_ledgerentry WHERE loan_id IN ({new})")
    sql("ALTER TABLE ledger_ledgerentry ENABLE TRIGGER ledger_append_only")
    sql("DELETE FROM loans_loan WHERE loan_no LIKE 'BNEW%%'")


def _fresh_book() -> float:
    """The book as make_book leaves it: unclassified, no case, no history. Returns the seconds of
    the UPDATE that resets the classes (the trial's reference)."""
    _drop_new_loans()
    truncate_apps("collections_app", "accountability", "notifications", "audit")
    seconds, _ = timed(
        lambda: sql(
            "UPDATE loans_loan SET five_level_class = 'normal', four_level_class = 'normal', "
            "five_level_rule = '', four_level_rule = '', specific_provision = 0"
        )
    )
    sql("TRUNCATE loans_classificationchange, loans_classificationrun")
    # This machine's PostgreSQL runs without autovacuum: plan on fresh statistics.
    sql("VACUUM ANALYZE loans_loan")
    sql("ANALYZE")
    return seconds


def _a_year_of_history() -> None:
    """What the backlog run finds (see the module's docstring), made with SQL."""
    # Cases opened over the past year: their 180-day time limits fall on every day of the year.
    sql(
        """
        UPDATE collections_app_collectioncase
           SET opened_on = %(day)s::date - (id %% 365)::int, measure_since = %(day)s::date - (id %% 365)::int,
               recovery_deadline = %(day)s::date - (id %% 365)::int + 180,
               limitation_expires_on = CASE WHEN id %% 10 = 0 THEN %(day)s::date + (id %% 120)::int
                                            ELSE limitation_expires_on END
         WHERE is_open
        """,
        {"day": FIRST_DAY},
    )
    sql(
        "UPDATE collections_app_collectioncase SET urgency_on = LEAST(recovery_deadline, limitation_expires_on) "
        "WHERE is_open"
    )
    # The first divisions were made with the cases: they carry the same dates.
    sql(
        """
        UPDATE accountability_responsibilityassignment a
           SET starts_on = c.opened_on, recovery_deadline = c.recovery_deadline
          FROM collections_app_collectioncase c
         WHERE c.id = a.case_id AND a.ended_on IS NULL
        """
    )
    # 20,000 open promises to pay, due over the past 10 and next 60 days.
    sql(
        """
        INSERT INTO collections_app_promisetopay (case_id, promised_on, amount, due_on, amount_paid, status,
                                                  status_on, notes, recorded_by_id, created_at)
        SELECT id, %(day)s::date - 30, 1000, %(day)s::date - 10 + (id %% 70)::int, 0, 'open', NULL, '', NULL, now()
          FROM collections_app_collectioncase WHERE is_open ORDER BY id LIMIT 20000
        """,
        {"day": FIRST_DAY},
    )
    # 20,000 cash repayments over the past 60 days (the loans' balances are left alone: bench data).
    sql(
        """
        INSERT INTO collections_app_recovery (case_id, received_on, amount, form, paid_by, principal,
                                              interest_on_balance, interest_off_balance, asset_id, note,
                                              recorded_by_id, created_at, after_write_off)
        SELECT id, %(day)s::date - (id %% 60)::int, 500, 'cash', 'borrower', 500, 0, 0, NULL, 'bench', NULL, now(),
               false
          FROM collections_app_collectioncase WHERE is_open ORDER BY id DESC LIMIT 20000
        """,
        {"day": FIRST_DAY},
    )
    # 2,000 new loans to some of those borrowers, disbursed within days of the repayment.
    sql(
        """
        INSERT INTO loans_loan (loan_no, borrower_id, branch_id, product, issuing_officer_id, responsible_officer_id,
            principal, outstanding_principal, interest_on_balance, interest_off_balance, disbursed_on, maturity_on,
            overdue_since, arrears_cleared_on, business_ceased, government_directed, restructured_on, written_off_on,
            five_level_class, four_level_class, manual_five_level_class, manual_class_reason, five_level_rule,
            four_level_rule, specific_provision, created_at, updated_at)
        SELECT 'BNEW' || lpad(r.id::text, 9, '0'), l.borrower_id, l.branch_id, 'Working capital',
               l.issuing_officer_id, l.issuing_officer_id, 50000, 50000, 0, 0,
               r.received_on + (r.id %% 7)::int, r.received_on + 365, NULL, NULL, false, false, NULL, NULL,
               'normal', 'normal', '', '', 'not_overdue', 'not_overdue', 0, now(), now()
          FROM collections_app_recovery r
          JOIN collections_app_collectioncase c ON c.id = r.case_id
          JOIN loans_loan l ON l.id = c.loan_id
         WHERE r.note = 'bench' AND r.id %% 10 = 0 AND r.received_on + (r.id %% 7)::int <= %(day)s::date
        """,
        {"day": RUN_DAY},
    )
    from ledger.services import ledger_open_loans

    ledger_open_loans(actor=None, as_of=RUN_DAY, source="bench")
    for table in (
        "loans_loan",
        "collections_app_collectioncase",
        "collections_app_promisetopay",
        "collections_app_recovery",
        "accountability_responsibilityassignment",
        "accountability_responsibilityshare",
    ):
        sql(f"VACUUM ANALYZE {table}")


def _run_checks(as_of: date) -> tuple[float, dict[str, tuple[float, dict]], list[int]]:
    """Every check for `as_of`, in order: (total seconds, name -> (seconds, counts), RSS after each)."""
    per_check = {}
    rss = []
    started = time.perf_counter()
    with _outbox_held():
        for name in CHECKS:
            run = check_run(name=name, as_of=as_of, runner="bench")
            assert run.status == "done", (name, run.status, run.error)
            per_check[name] = (run.seconds, run.counts)
            rss.append(round(_rss_mb()))
    return time.perf_counter() - started, per_check, rss


def run(ctx: BenchContext) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    n = 100_000 if ctx.quick else 1_000_000
    build, book = timed(lambda: make_book(n_loans=n))
    ctx.report("book ready (built or reused)", seconds=build, loans=book["loans"])
    references: list[float] = []
    totals: dict[str, list[float]] = {label: [] for label, _, _ in RUNS}
    checks: dict[str, dict[str, list[float]]] = {label: {name: [] for name in CHECKS} for label, _, _ in RUNS}
    counts: dict[str, dict[str, dict]] = {label: {} for label, _, _ in RUNS}
    outbox: dict[str, list[float]] = {label: [] for label, _, _ in RUNS}
    facts: dict[str, dict] = {label: {} for label, _, _ in RUNS}
    try:
        for _ in range(ctx.trials):
            references.append(_fresh_book())
            for label, as_of, _ in RUNS:
                if as_of == FIRST_DAY:
                    setup, _ = timed(_a_year_of_history)
                    facts[label]["history_setup_s"] = round(setup, 1)
                before = Notification.objects.count()
                total, per_check, rss = _run_checks(as_of)
                totals[label].append(total)
                for name, (seconds, check_counts) in per_check.items():
                    checks[label][name].append(seconds)
                    counts[label][name] = check_counts
                facts[label].update(
                    notifications=Notification.objects.count() - before,
                    rss_mb_after_each_check=rss,
                    open_cases=sql("SELECT count(*) FROM collections_app_collectioncase WHERE is_open")[0][0],
                )
                seconds, sent = timed(notifications_send_pending_emails)
                outbox[label].append(seconds)
                facts[label]["emails"] = sent
    finally:
        # Leave the shared book as make_book keeps it (its row count is how it recognises it).
        _drop_new_loans()

    for label, _, target in RUNS:
        for name in CHECKS:
            ctx.report(
                f"{label}: {name}",
                seconds=checks[label][name],
                references={REFERENCE: references},
                **counts[label][name],
            )
        ctx.report(
            f"{label}: ALL CHECKS",
            seconds=totals[label],
            references={REFERENCE: references},
            target=target,
            met=(statistics.median(totals[label]) < 120) if target else None,
            **facts[label],
        )
        ctx.report(f"{label}: e-mail outbox (apart)", seconds=outbox[label], emails=facts[label]["emails"])
    ctx.report("peak memory", peak_rss_mb=round(peak_rss_mb()), target="flat")
