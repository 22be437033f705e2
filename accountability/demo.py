"""Demo accountability for `make run`: divisions of responsibility, proposals waiting for a manager,
a loan recovered in time, a "loans by loans" suspect, and one run of the daily checks.

Idempotent: the stories are written once (the manager's first division is the marker); a second
run adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from accountability.daily_checks import checks_run_all
from accountability.models import AccountabilityRecord, LoansByLoansFlag, ResponsibilityAssignment, WatchListEntry
from accountability.services import (
    case_recovered_in_time,
    record_propose,
    responsibility_assign,
    responsibility_assign_defaults,
)
from collections_app.models import CollectionCase
from collections_app.services import recovery_record
from ledger.services import ledger_open_loan
from loans.demo import DEMO_PASSWORD
from loans.models import Branch, Loan, Role, User

DEPUTY = ("deputy", "Dan", "Deng")


def seed_demo(*, as_of: date) -> str:
    created = responsibility_assign_defaults(as_of=as_of)
    stories = ""
    if not ResponsibilityAssignment.objects.filter(assigned_by__isnull=False).exists():
        stories = _stories(as_of=as_of)
        if stories:
            # Today's checks (the book was classified by the loans demo): reminders, watch list, ...
            checks_run_all(as_of=as_of, only=_CHECKS_AFTER_STORIES)
    return (
        f"Accountability: {created} first divisions; {AccountabilityRecord.objects.count()} sanctions and rewards, "
        f"{WatchListEntry.objects.filter(as_of=as_of).count()} loans on the watch list, "
        f"{LoansByLoansFlag.objects.count()} loans-by-loans flags.{stories}"
    )


_CHECKS_AFTER_STORIES = (
    "deadline_reminders",
    "deadline_missed",
    "recovered_in_time",
    "promises",
    "limitation",
    "loans_by_loans",
    "watch_list",
)


def _deputy(branch: Branch) -> User:
    """A second manager of Riverside, so that a manager's own proposals can be decided (maker-checker)."""
    username, first, last = DEPUTY
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, first_name=first, last_name=last, role=Role.MANAGER, branch=branch)
        user.email = f"{username}@demo-bank.example"
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


@transaction.atomic
def _stories(*, as_of: date) -> str:
    officer = User.objects.filter(username="officer").first()
    officer2 = User.objects.filter(username="officer2").first()
    manager = User.objects.filter(username="manager").first()
    if not (officer and officer2 and manager):
        return ""
    deputy = _deputy(manager.branch)
    cases = list(
        CollectionCase.objects.filter(officer=officer, branch=officer.branch, is_open=True, measure="responsibility")
        .select_related("loan", "loan__borrower")
        .order_by("-loan__loan_no")[:4]
    )
    if len(cases) < 4:
        return ""
    shared, soon, recovered, human = cases

    # Joint responsibility, time limit in 6 days: the 7-day reminder goes to both officers.
    responsibility_assign(
        case=shared,
        shares=[(officer, Decimal("60")), (officer2, Decimal("40"))],
        recovery_deadline=as_of + timedelta(days=6),
        reason="Joint responsibility: the borrower also banks with officer2's clients.",
        actor=manager,
        as_of=as_of,
    )
    responsibility_assign(
        case=soon,
        shares=[(officer, Decimal("100"))],
        recovery_deadline=as_of + timedelta(days=25),
        reason="Shorter time limit: the borrower is selling the shop.",
        actor=manager,
        as_of=as_of,
    )
    # Recovered in full, within the time limit: a bonus to honour without delay.
    recovery_record(
        case=recovered,
        actor=officer,
        received_on=as_of - timedelta(days=2),
        amount=recovered.loan.total_owed,
        as_of=as_of,
        note="Paid in full after the visit.",
    )
    recovered.refresh_from_db()
    case_recovered_in_time(case=recovered, as_of=as_of)
    # An NPL formed by human factors: compensation proposed by the deputy, for the manager to decide.
    record_propose(
        officer=officer2,
        record_type="compensation",
        amount=Decimal("5000.00"),
        case=human,
        reason="Loan granted without checking the guarantor's income (human factor).",
        actor=deputy,
        as_of=as_of,
    )
    # The manager's own proposal: only the deputy may decide it.
    record_propose(
        officer=officer,
        record_type="commendation",
        case=soon,
        reason="Persistent work on the Riverside market loans.",
        actor=manager,
        as_of=as_of,
    )
    # "Loans by loans": a new loan to a borrower two days after a repayment of their overdue loan.
    repaid = CollectionCase.objects.filter(recoveries__form="cash", is_open=True).select_related("loan").first()
    if repaid is not None:
        last = repaid.recoveries.order_by("-received_on").first()
        new_loan, created = Loan.objects.get_or_create(
            loan_no="DEMO-NEW-0001",
            defaults={
                "borrower": repaid.loan.borrower,
                "branch": repaid.loan.branch,
                "product": "Working capital",
                "issuing_officer": officer2,
                "responsible_officer": officer2,
                "principal": Decimal("50000.00"),
                "outstanding_principal": Decimal("50000.00"),
                "disbursed_on": last.received_on - timedelta(days=2),
                "maturity_on": last.received_on + timedelta(days=363),
            },
        )
        if created:
            ledger_open_loan(loan=new_loan, actor=None, as_of=as_of, source="demo")
    return " Demo stories written (login 'deputy' is a second Riverside manager)."
