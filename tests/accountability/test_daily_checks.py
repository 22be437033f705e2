"""Each daily check at its date edges: the day before, the day of, the day after; and run twice."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from accountability.daily_checks import CHECKS, check_run, checks_run_all
from accountability.models import (
    AccountabilityRecord,
    DailyCheckRun,
    DeadlineReminder,
    LimitationWarning,
    LoansByLoansFlag,
    MonthEndClose,
    MonthEndSnapshot,
    PromiseAlert,
    ResponsibilityAssignment,
    WatchListEntry,
)
from audit.models import AuditEvent
from collections_app.models import CollectionCase, PromiseToPay
from collections_app.services import notice_serve, promise_record, recovery_record
from notifications.models import Notification
from tests.accountability.conftest import OPENED, divide, open_npl_case
from tests.factories import BorrowerFactory, GuaranteeFactory, GuarantorFactory, LoanFactory

pytestmark = pytest.mark.django_db


def run(name: str, as_of: date) -> dict:
    return check_run(name=name, as_of=as_of).counts


def notes(user, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=kind).order_by("id"))


# --- reclassify ----------------------------------------------------------------------------------


def test_reclassify_opens_a_case_and_its_first_division_the_day_a_loan_turns_bad(branch, officer):
    # 90 days past due is still special mention; day 91 makes it substandard (DPD > 90).
    turns_bad = date(2026, 6, 30)
    loan = LoanFactory(branch=branch, responsible_officer=officer, overdue_since=turns_bad - timedelta(days=91))

    assert run("reclassify", turns_bad - timedelta(days=1))["cases_opened"] == 0
    assert not CollectionCase.objects.filter(loan=loan).exists()

    counts = run("reclassify", turns_bad)
    assert counts["became_non_performing"] == 1
    case = CollectionCase.objects.get(loan=loan)
    division = ResponsibilityAssignment.objects.get(case=case)
    assert division.ended_on is None and division.recovery_deadline == case.recovery_deadline
    assert [(s.officer, s.share) for s in division.shares.all()] == [(officer, Decimal("100.00"))]

    again = run("reclassify", turns_bad + timedelta(days=1))
    assert again["cases_opened"] == again["divisions_created"] == 0
    assert ResponsibilityAssignment.objects.count() == 1


def test_first_divisions_written_by_the_checks_record_one_system_event_naming_them(branch, officer, officer2):
    day = date(2026, 6, 30)
    for responsible in (officer, officer2, officer):
        LoanFactory(branch=branch, responsible_officer=responsible, overdue_since=date(2026, 1, 1))
    run = check_run(name="reclassify", as_of=day)
    divisions = list(ResponsibilityAssignment.objects.order_by("pk"))
    assert len(divisions) == run.counts["divisions_created"] == 3
    (event,) = AuditEvent.objects.filter(event_type="system.responsibility.first_divisions")
    assert event.actor is None
    assert (event.subject_type, event.subject_id) == ("accountability.dailycheckrun", run.pk)
    assert event.new_values == {
        "as_of": "2026-06-30",
        "assignments": {"first_id": divisions[0].pk, "last_id": divisions[-1].pk, "count": 3},
    }
    # A run that divides nothing records nothing.
    check_run(name="reclassify", as_of=day + timedelta(days=1))
    assert AuditEvent.objects.filter(event_type="system.responsibility.first_divisions").count() == 1


def test_the_first_division_of_a_case_opened_by_hand_is_audited_too(npl_case):
    (division,) = ResponsibilityAssignment.objects.filter(case=npl_case)
    (event,) = AuditEvent.objects.filter(event_type="system.responsibility.first_divisions")
    assert (event.subject_type, event.subject_id, event.actor) == (
        "accountability.responsibilityassignment",
        division.pk,
        None,
    )
    assert event.new_values["assignments"] == {"first_id": division.pk, "last_id": division.pk, "count": 1}


def test_a_case_without_an_officer_gets_no_division_until_a_manager_names_one(branch):
    loan = LoanFactory(branch=branch, responsible_officer=None, overdue_since=date(2026, 1, 1))
    run("reclassify", date(2026, 6, 30))
    assert CollectionCase.objects.filter(loan=loan).exists()
    assert not ResponsibilityAssignment.objects.exists()


# --- time-limit reminders -------------------------------------------------------------------------


@pytest.fixture
def shared_case(branch, officer, officer2, manager):
    case = open_npl_case(branch=branch, officer=officer, loan_no="RIV-SHARED")
    divide(case, manager, [(officer, Decimal("60")), (officer2, Decimal("40"))], deadline=date(2026, 6, 30))
    return case


@pytest.mark.parametrize("threshold", [30, 7, 1])
def test_reminder_goes_out_on_its_day_to_every_officer_sharing_the_loan(shared_case, officer, officer2, threshold):
    deadline = date(2026, 6, 30)
    day = deadline - timedelta(days=threshold)
    before = run("deadline_reminders", day - timedelta(days=1))
    # The day before is still the previous window (or none): not this threshold.
    assert before.get(f"reminders_{threshold}_days") == 0
    assert run("deadline_reminders", day)[f"reminders_{threshold}_days"] == 1
    assert run("deadline_reminders", day + timedelta(days=1))[f"reminders_{threshold}_days"] == 0
    assert DeadlineReminder.objects.filter(days_before=threshold).count() == 1
    for person in (officer, officer2):
        mine = [n for n in notes(person, "deadline.reminder") if f":{threshold}:" in n.key]
        assert len(mine) == 1
        assert "RIV-SHARED" in mine[0].title and mine[0].url == f"/cases/{shared_case.pk}/"


def test_nothing_is_reminded_31_days_before(shared_case):
    counts = run("deadline_reminders", date(2026, 6, 30) - timedelta(days=31))
    assert sum(counts.values()) == 0


def test_a_missed_run_catches_up_with_the_most_urgent_reminder_only(shared_case, officer):
    # No run between 30 and 6 days before: the 7-day window's reminder goes out, not the 30-day one.
    counts = run("deadline_reminders", date(2026, 6, 30) - timedelta(days=5))
    assert counts == {"reminders_30_days": 0, "reminders_7_days": 1, "reminders_1_days": 0}
    assert "in 5 days" in notes(officer, "deadline.reminder")[0].title


def test_a_new_division_with_a_new_time_limit_is_reminded_afresh(shared_case, manager, officer):
    run("deadline_reminders", date(2026, 6, 30) - timedelta(days=30))
    divide(shared_case, manager, [(officer, Decimal("100"))], deadline=date(2026, 8, 31), as_of=date(2026, 6, 1))
    assert run("deadline_reminders", date(2026, 8, 1))["reminders_30_days"] == 1
    assert DeadlineReminder.objects.count() == 2


# --- time limit missed ---------------------------------------------------------------------------


def test_a_missed_time_limit_proposes_a_sanction_for_each_officer_and_tells_the_manager_once(
    shared_case, officer, officer2, manager, manager2
):
    deadline = date(2026, 6, 30)
    assert run("deadline_missed", deadline - timedelta(days=1))["sanctions_proposed"] == 0
    assert run("deadline_missed", deadline)["sanctions_proposed"] == 0  # the last day still counts
    counts = run("deadline_missed", deadline + timedelta(days=1))
    assert counts == {"sanctions_proposed": 2, "managers_told": 2}
    records = AccountabilityRecord.objects.order_by("officer__username")
    assert [(r.officer, r.record_type, r.state, r.share) for r in records] == [
        (officer, "wage_stop", "proposed", Decimal("60.00")),
        (officer2, "wage_stop", "proposed", Decimal("40.00")),
    ]
    assert all(r.origin == "missed_deadline" and r.deadline == deadline for r in records)
    assert AuditEvent.objects.filter(event_type="accountability.proposed").count() == 2
    assert len(notes(officer, "record.proposed")) == 1
    assert [n.title for n in notes(manager, "deadline.missed")] == [
        "1 recovery time limit(s) missed: sanctions proposed for you to decide"
    ]

    assert run("deadline_missed", deadline + timedelta(days=2))["sanctions_proposed"] == 0
    assert AccountabilityRecord.objects.count() == 2


def test_missed_deadline_sanctions_follow_the_policy(shared_case, settings):
    settings.NPL_RULES = {"missed_deadline_sanctions": ["wage_stop", "suspension"]}
    run("deadline_missed", date(2026, 7, 1))
    assert AccountabilityRecord.objects.count() == 4


def test_a_written_off_case_is_not_sanctioned_for_its_time_limit(shared_case):
    CollectionCase.objects.filter(pk=shared_case.pk).update(measure="written_off")
    assert run("deadline_missed", date(2026, 7, 1))["sanctions_proposed"] == 0


def test_an_outlet_case_tells_the_branch_manager_above_it(outlet, outlet_officer, manager):
    case = open_npl_case(branch=outlet, officer=outlet_officer)
    run("deadline_missed", case.recovery_deadline + timedelta(days=1))
    assert len(notes(manager, "deadline.missed")) == 1


# --- promises to pay ------------------------------------------------------------------------------


@pytest.fixture
def promise(npl_case, officer):
    return promise_record(
        case=npl_case, actor=officer, promised_on=OPENED, amount=Decimal("5000"), due_on=date(2026, 3, 31)
    )


def test_a_promise_is_announced_on_its_due_day_and_broken_the_day_after(promise, officer):
    due = promise.due_on
    assert run("promises", due - timedelta(days=1)) == {"due_today": 0, "broken": 0}
    assert run("promises", due) == {"due_today": 1, "broken": 0}
    assert "due today" in notes(officer, "promise.due")[0].title
    promise.refresh_from_db()
    assert promise.status == "open"

    assert run("promises", due + timedelta(days=1)) == {"due_today": 0, "broken": 1}
    promise.refresh_from_db()
    assert promise.status == "broken" and promise.status_on == due + timedelta(days=1)
    assert len(notes(officer, "promise.broken")) == 1
    assert AuditEvent.objects.filter(event_type="case.promise_broken").count() == 1

    assert run("promises", due + timedelta(days=2)) == {"due_today": 0, "broken": 0}
    assert PromiseAlert.objects.count() == 2


def test_a_kept_promise_is_never_broken(promise, npl_case, officer):
    recovery_record(
        case=npl_case, actor=officer, received_on=date(2026, 3, 20), amount=Decimal("5000"), as_of=date(2026, 3, 20)
    )
    assert run("promises", date(2026, 4, 1))["broken"] == 0
    assert PromiseToPay.objects.get().status == "kept"


# --- limitation periods ---------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [90, 30])
def test_limitation_warning_90_and_30_days_before_the_claim_runs_out(npl_case, officer, threshold):
    expires = CollectionCase.objects.get(pk=npl_case.pk).limitation_expires_on
    day = expires - timedelta(days=threshold)
    assert run("limitation", day - timedelta(days=1)).get(f"warnings_{threshold}_days") == 0
    assert run("limitation", day)[f"warnings_{threshold}_days"] == 1
    assert run("limitation", day + timedelta(days=1))[f"warnings_{threshold}_days"] == 0
    (note,) = [n for n in notes(officer, "limitation.warning") if f":{threshold}:" in n.key]
    assert f"runs out in {threshold} days" in note.title


def test_a_signed_notice_restarts_the_period_and_the_warnings(npl_case, officer):
    case = CollectionCase.objects.get(pk=npl_case.pk)
    first_expiry = case.limitation_expires_on
    run("limitation", first_expiry - timedelta(days=90))
    notice_serve(case=case, actor=officer, served_on=OPENED, served_to="Wang Wei", signed_acknowledgement=True)
    case.refresh_from_db()
    assert case.limitation_expires_on > first_expiry
    assert run("limitation", case.limitation_expires_on - timedelta(days=90))["warnings_90_days"] == 1
    assert LimitationWarning.objects.count() == 2


# --- loans by loans --------------------------------------------------------------------------------


@pytest.fixture
def repaid(npl_case, officer):
    """A cash repayment of the overdue loan on 2026-03-02."""
    recovery_record(
        case=npl_case, actor=officer, received_on=date(2026, 3, 2), amount=Decimal("3000"), as_of=date(2026, 3, 2)
    )
    return npl_case


def test_a_new_loan_to_the_same_borrower_within_30_days_of_a_repayment_is_flagged(repaid, branch, manager, officer):
    new = LoanFactory(
        branch=branch,
        borrower=repaid.loan.borrower,
        issuing_officer=officer,
        disbursed_on=date(2026, 4, 1),
        maturity_on=date(2027, 4, 1),
    )  # 30 days after
    assert run("loans_by_loans", date(2026, 3, 31))["flags"] == 0  # not disbursed yet
    assert run("loans_by_loans", date(2026, 4, 1))["flags"] == 1
    assert run("loans_by_loans", date(2026, 4, 2))["flags"] == 0
    flag = LoansByLoansFlag.objects.get()
    assert (flag.new_loan, flag.overdue_loan, flag.relation, flag.days_apart) == (new, repaid.loan, "same_borrower", 30)
    assert flag.lending_officer == officer
    assert "Loans by loans?" in notes(manager, "loans_by_loans.flag")[0].title


def test_two_repayments_near_one_new_loan_make_one_flag_naming_the_closest(repaid, branch, officer, manager):
    recovery_record(
        case=repaid, actor=officer, received_on=date(2026, 3, 20), amount=Decimal("1000"), as_of=date(2026, 3, 20)
    )
    LoanFactory(
        branch=branch, borrower=repaid.loan.borrower, disbursed_on=date(2026, 3, 22), maturity_on=date(2027, 3, 22)
    )
    assert run("loans_by_loans", date(2026, 3, 22)) == {
        "repayments": 2,
        "flags": 1,
        "ledger_flags": 0,
        "managers_told": 1,
    }
    flag = LoansByLoansFlag.objects.get()
    assert (flag.repaid_on, flag.repaid_amount) == (date(2026, 3, 20), Decimal("1000.00"))
    assert len(notes(manager, "loans_by_loans.flag")) == 1


def test_a_new_loan_31_days_after_the_repayment_is_not_flagged(repaid, branch):
    LoanFactory(
        branch=branch, borrower=repaid.loan.borrower, disbursed_on=date(2026, 4, 2), maturity_on=date(2027, 4, 2)
    )
    assert run("loans_by_loans", date(2026, 4, 2))["flags"] == 0


def test_a_new_loan_just_before_the_repayment_is_flagged_too(repaid, branch):
    LoanFactory(
        branch=branch, borrower=repaid.loan.borrower, disbursed_on=date(2026, 2, 20), maturity_on=date(2027, 2, 20)
    )
    assert run("loans_by_loans", date(2026, 3, 2))["flags"] == 1


def test_a_guarantor_who_is_a_borrower_and_a_group_member_are_related_parties(repaid, branch):
    guarantor_borrower = BorrowerFactory(name="Guarantor Li")
    GuaranteeFactory(loan=repaid.loan, guarantor=GuarantorFactory(borrower=guarantor_borrower))
    LoanFactory(
        branch=branch, borrower=guarantor_borrower, disbursed_on=date(2026, 3, 10), maturity_on=date(2027, 3, 10)
    )
    type(repaid.loan.borrower).objects.filter(pk=repaid.loan.borrower_id).update(group_code="ZHANG-GROUP")
    sibling = BorrowerFactory(name="Zhang Textiles", group_code="ZHANG-GROUP")
    LoanFactory(branch=branch, borrower=sibling, disbursed_on=date(2026, 3, 12), maturity_on=date(2027, 3, 12))
    stranger = BorrowerFactory(name="Unrelated", group_code="")
    LoanFactory(branch=branch, borrower=stranger, disbursed_on=date(2026, 3, 12), maturity_on=date(2027, 3, 12))

    assert run("loans_by_loans", date(2026, 3, 15))["flags"] == 2
    assert sorted(LoansByLoansFlag.objects.values_list("relation", flat=True)) == ["guarantor", "same_group"]


# --- watch list ------------------------------------------------------------------------------------


def test_watch_list_edges_and_first_seen(branch, officer, settings):
    # Special mention from DPD 8; "close to substandard" from DPD 60 (90 - 30).
    settings.NPL_RULES = {"watch_drift_days": 10}  # the downgrade of May is no longer "recent" in June
    near = LoanFactory(branch=branch, responsible_officer=officer, overdue_since=date(2026, 5, 1))
    run("reclassify", date(2026, 5, 15))
    early = LoanFactory(branch=branch, responsible_officer=officer, overdue_since=date(2026, 6, 27))
    LoanFactory(branch=branch, responsible_officer=officer)  # current: never watched
    day_of = date(2026, 5, 1) + timedelta(days=60)
    for day in (day_of - timedelta(days=1), day_of, day_of + timedelta(days=1)):
        run("reclassify", day)
        run("watch_list", day)
    listed = {(e.as_of, e.loan_id): e for e in WatchListEntry.objects.all()}
    assert (day_of - timedelta(days=1), near.pk) not in listed  # DPD 59
    assert listed[(day_of, near.pk)].reasons == "near_substandard"
    assert listed[(day_of + timedelta(days=1), near.pk)].first_seen_on == day_of
    assert listed[(day_of, early.pk)].reasons == "early_dpd"  # 3 days past due, still normal
    assert len(notes(officer, "watch_list.new")) == 2  # the day before (early) and the day of (near)


def test_a_loan_downgraded_by_a_manager_is_watched_as_drift(branch, officer, manager):
    from loans.services import loan_classify_manually

    loan = LoanFactory(branch=branch, responsible_officer=officer)
    loan_classify_manually(
        loan=loan, five_level_class="special_mention", reason="Sales collapsing", actor=manager, as_of=date(2026, 6, 1)
    )
    run("watch_list", date(2026, 6, 2))
    assert WatchListEntry.objects.get().reasons == "drift"


def test_watch_list_is_written_once_per_day_and_pruned(branch, officer):
    LoanFactory(branch=branch, responsible_officer=officer, overdue_since=date(2026, 6, 27), five_level_class="normal")
    run("watch_list", date(2026, 3, 1))
    run("watch_list", date(2026, 6, 30))
    run("watch_list", date(2026, 6, 30))
    assert list(WatchListEntry.objects.values_list("as_of", flat=True)) == [date(2026, 6, 30)]


# --- month-end snapshot ------------------------------------------------------------------------------


def test_month_end_snapshot_edges_and_figures(npl_case, branch, officer, officer2):
    LoanFactory(branch=branch, responsible_officer=officer2, outstanding_principal=Decimal("50000"))
    recovery_record(
        case=npl_case, actor=officer, received_on=date(2026, 6, 10), amount=Decimal("1500"), as_of=date(2026, 6, 10)
    )
    recovery_record(
        case=npl_case, actor=officer, received_on=date(2026, 5, 10), amount=Decimal("700"), as_of=date(2026, 5, 10)
    )

    assert run("month_end_snapshot", date(2026, 6, 29)) == {"skipped": "not a month end"}
    assert run("month_end_snapshot", date(2026, 6, 30)) == {"rows": 2}
    assert run("month_end_snapshot", date(2026, 7, 1)) == {"skipped": "not a month end"}
    assert run("month_end_snapshot", date(2026, 6, 30)) == {"skipped": "already taken"}
    assert MonthEndClose.objects.get().rows == 2

    mine = MonthEndSnapshot.objects.get(officer=officer)
    assert mine.month == date(2026, 6, 1) and mine.branch == branch
    # 276 days past due when last classified (by the June recovery): doubtful.
    assert (mine.loans, mine.npl_count, mine.doubtful_count, mine.substandard_count) == (1, 1, 1, 0)
    assert mine.npl_balance == mine.doubtful_balance == mine.outstanding_principal
    assert mine.cash_recovered == Decimal("1500.00") and mine.in_kind_value == 0  # June only, money only
    assert (mine.open_cases, mine.cases_past_deadline) == (1, 0)
    assert mine.specific_provision > 0
    theirs = MonthEndSnapshot.objects.get(officer=officer2)
    assert (theirs.normal_count, theirs.npl_count, theirs.normal_balance) == (1, 0, Decimal("50000.00"))


def test_month_end_snapshot_counts_cases_past_their_time_limit(npl_case):
    run("month_end_snapshot", date(2026, 7, 31))
    assert MonthEndSnapshot.objects.get().cases_past_deadline == 1


# --- all of them ---------------------------------------------------------------------------------


def test_every_check_is_registered_in_order_with_reclassification_first():
    assert list(CHECKS)[0] == "reclassify"
    assert set(CHECKS) == {
        "reclassify",
        "deadline_reminders",
        "deadline_missed",
        "recovered_in_time",
        "promises",
        "limitation",
        "time_barred",
        "hearings",
        "preservation_orders",
        "enforcement_deadlines",
        "guarantee_periods",
        "loans_by_loans",
        "watch_list",
        "ledger_invariant",
        "month_end_snapshot",
        "kept_figures",
    }


def test_running_all_checks_twice_for_a_day_adds_nothing_the_second_time(shared_case, promise, branch):
    day = date(2026, 7, 1)
    checks_run_all(as_of=day)
    counted = {m: m.objects.count() for m in (AccountabilityRecord, Notification, AuditEvent, DeadlineReminder)}
    checks_run_all(as_of=day)
    assert {m: m.objects.count() for m in counted} == counted
    assert DailyCheckRun.objects.filter(status="done").count() == 2 * len(CHECKS)


def test_command_runs_one_check_or_all_for_a_date(shared_case, capsys):
    call_command("run_daily_checks", "--as-of", "2026-07-01", "--only", "deadline_missed")
    out = capsys.readouterr().out
    assert "deadline_missed" in out and "sanctions_proposed=2" in out
    assert AccountabilityRecord.objects.count() == 2
    call_command("run_daily_checks", "--as-of", "2026-07-01")
    assert DailyCheckRun.objects.filter(as_of=date(2026, 7, 1)).count() == 1 + len(CHECKS)


def test_command_refuses_an_unknown_check_and_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="watch_list"):
        call_command("run_daily_checks", "--as-of", "2026-07-01", "--only", "nonsense")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_daily_checks", "--as-of", "1 July")


def test_a_failing_check_is_recorded_as_failed(monkeypatch, shared_case):
    from accountability import daily_checks

    def boom(*, as_of):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(daily_checks.CHECKS, "promises", daily_checks.Check("promises", "x", boom))
    with pytest.raises(RuntimeError):
        check_run(name="promises", as_of=date(2026, 7, 1))
    failed = DailyCheckRun.objects.get(check_name="promises")
    assert failed.status == "failed" and "disk on fire" in failed.error


# --- the Celery tasks' own logic (in-process; the real worker is in test_worker.py) -------------------


def test_a_check_waits_while_todays_reclassification_is_still_running(shared_case):
    from celery.exceptions import Retry

    from accountability.tasks import CHECK_TASKS

    check_deadline_missed = CHECK_TASKS["deadline_missed"]
    DailyCheckRun.objects.create(check_name="reclassify", as_of=date(2026, 7, 1))  # running
    with pytest.raises(Retry):
        check_deadline_missed.apply(kwargs={"as_of": "2026-07-01"}, throw=True)
    assert not AccountabilityRecord.objects.exists()
    DailyCheckRun.objects.filter(check_name="reclassify").update(status="done")
    result = check_deadline_missed.apply(kwargs={"as_of": "2026-07-01"}, throw=True).get()
    assert result["sanctions_proposed"] == 2 and result["as_of"] == "2026-07-01"


def test_beat_passes_no_date_and_the_task_uses_today_or_yesterday(monkeypatch):
    from accountability.tasks import business_date

    monkeypatch.setattr("django.utils.timezone.localdate", lambda: date(2026, 7, 1))
    assert business_date(None) == date(2026, 7, 1)
    assert business_date(None, days_ago=1) == date(2026, 6, 30)
    assert business_date("2026-05-31") == date(2026, 5, 31)


def test_every_check_of_the_registry_is_a_celery_task_with_the_checks_options():
    from accountability.tasks import CHECK_TASKS, TASK_OPTIONS
    from npl_recovery.celery import app

    assert list(CHECK_TASKS) == list(CHECKS)
    for name, check in CHECKS.items():
        task = app.tasks[check.task_name]
        assert CHECK_TASKS[name].name == task.name == f"accountability.check_{name}"
        for option in ("acks_late", "reject_on_worker_lost", "max_retries", "soft_time_limit", "time_limit"):
            assert getattr(task, option) == TASK_OPTIONS[option], (name, option)
        assert tuple(task.autoretry_for) == TASK_OPTIONS["autoretry_for"]


def test_a_check_added_to_the_registry_runs_as_a_task_without_a_wrapper_of_its_own(monkeypatch):
    from accountability import daily_checks
    from accountability.tasks import _check_task

    def count_nothing(*, as_of):
        return {"as_of_seen": as_of.isoformat()}

    check = daily_checks.Check("test_only", "Only for this test", count_nothing, after_reclassify=False)
    monkeypatch.setitem(daily_checks.CHECKS, "test_only", check)
    result = _check_task(check).apply(kwargs={"as_of": "2026-07-01"}, throw=True).get()
    assert result["as_of_seen"] == "2026-07-01"
    assert DailyCheckRun.objects.get(check_name="test_only").status == "done"
