"""Opening cases: by hand, automatically for every non-performing loan, once per loan."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from collections_app.models import CaseOpeningRun, CollectionCase, Notice, Recovery
from collections_app.services import case_open, cases_open_for_non_performing, opening
from loans.services import loans_reclassify
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db


def test_officer_opens_a_case_for_a_non_performing_loan(npl_loan, officer, today):
    case = case_open(loan=npl_loan, actor=officer, as_of=today, reason="Borrower stopped paying")
    assert case.measure == "responsibility" and case.is_open
    assert case.officer == officer and case.branch == npl_loan.branch
    assert case.recovery_deadline == today + timedelta(days=180)
    assert case.limitation_starts_on == npl_loan.overdue_since
    assert case.limitation_expires_on == npl_loan.overdue_since.replace(year=npl_loan.overdue_since.year + 3)
    assert case.urgency_on == min(case.recovery_deadline, case.limitation_expires_on)
    event = AuditEvent.objects.get(event_type="case.opened", subject_id=case.pk)
    assert event.actor == officer and event.reason == "Borrower stopped paying"


def test_a_second_open_case_for_the_same_loan_is_refused(case, officer, today):
    with pytest.raises(ValidationError, match="already has an open case"):
        case_open(loan=case.loan, actor=officer, as_of=today, reason="again")


def test_the_database_itself_refuses_a_second_open_case(case):
    duplicate = CollectionCase(
        loan=case.loan,
        branch=case.branch,
        recovery_deadline=case.recovery_deadline,
        opened_on=case.opened_on,
        measure_since=case.opened_on,
        urgency_on=case.urgency_on,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_a_performing_loan_gets_no_case_by_hand(branch, officer, today):
    loan = LoanFactory(branch=branch, five_level_class="special_mention")
    with pytest.raises(ValidationError, match="non-performing"):
        case_open(loan=loan, actor=officer, as_of=today, reason="early")


@pytest.mark.parametrize("persona", ["auditor", "admin_user", "outsider"])
def test_only_officers_and_managers_of_the_branch_open_cases(request, persona, npl_loan, today):
    with pytest.raises(PermissionDenied):
        case_open(loan=npl_loan, actor=request.getfixturevalue(persona), as_of=today, reason="x")


def test_opening_needs_a_reason(npl_loan, officer, today):
    with pytest.raises(ValidationError):
        case_open(loan=npl_loan, actor=officer, as_of=today, reason="  ")


def test_every_non_performing_loan_gets_one_case_and_a_second_run_adds_none(make_npl, branch, outlet, today):
    npls = [make_npl(), make_npl(branch=outlet), make_npl(five_level_class="loss")]
    LoanFactory(branch=branch)  # performing
    make_npl(outstanding_principal=0, interest_on_balance=0, interest_off_balance=0)  # nothing owed
    assert cases_open_for_non_performing(as_of=today) == 3
    assert set(CollectionCase.objects.values_list("loan_id", flat=True)) == {loan.pk for loan in npls}
    assert cases_open_for_non_performing(as_of=today) == 0
    case = CollectionCase.objects.get(loan=npls[0])
    assert case.officer == npls[0].responsible_officer
    assert case.limitation_starts_on == npls[0].overdue_since


def test_the_opener_can_be_limited_to_some_loans(make_npl, today):
    a, b = make_npl(), make_npl()
    assert cases_open_for_non_performing(as_of=today, loan_ids=[a.pk]) == 1
    assert not CollectionCase.objects.filter(loan=b).exists()
    assert cases_open_for_non_performing(as_of=today, loan_ids=[]) == 0


def test_a_loan_that_becomes_non_performing_gets_its_case_on_commit(
    branch, officer, today, django_capture_on_commit_callbacks
):
    loan = LoanFactory(branch=branch, responsible_officer=officer, overdue_since=today - timedelta(days=120))
    with django_capture_on_commit_callbacks(execute=True):
        loans_reclassify(as_of=today)
    case = CollectionCase.objects.get(loan=loan)
    assert case.is_open and case.officer == officer and case.opened_on == today


def test_closed_and_revitalised_loans_are_not_reopened(make_npl, today):
    closed = make_npl(five_level_class="loss", written_off_on=today)
    CollectionCase.objects.bulk_create(
        [
            CollectionCase(
                loan=closed,
                branch=closed.branch,
                measure="closed",
                is_open=False,
                recovery_deadline=today,
                opened_on=today,
                measure_since=today,
                urgency_on=today,
            )
        ]
    )
    make_npl(restructured_on=today - timedelta(days=10), overdue_since=None)
    assert cases_open_for_non_performing(as_of=today) == 0


def _closed_case(loan, on):
    """A case closed when recourse was exhausted (written straight to the table, as an old book would hold it)."""
    CollectionCase.objects.bulk_create(
        [
            CollectionCase(
                loan=loan,
                branch=loan.branch,
                measure="closed",
                is_open=False,
                recovery_deadline=on,
                opened_on=on,
                measure_since=on,
                urgency_on=on,
            )
        ]
    )


def test_a_closed_claim_gets_no_new_case_by_hand_either(make_npl, officer, today):
    loan = make_npl(five_level_class="loss", written_off_on=today)
    _closed_case(loan, today)
    with pytest.raises(ValidationError, match="closed"):
        case_open(loan=loan, actor=officer, as_of=today, reason="Try again")
    assert cases_open_for_non_performing(as_of=today) == 0
    assert not CollectionCase.objects.filter(loan=loan, is_open=True).exists()


def test_a_loan_in_its_observation_period_gets_no_case_by_hand_either(make_npl, officer, today):
    loan = make_npl(restructured_on=today - timedelta(days=10), overdue_since=None)
    with pytest.raises(ValidationError, match="observation period"):
        case_open(loan=loan, actor=officer, as_of=today, reason="Still substandard")
    assert cases_open_for_non_performing(as_of=today) == 0
    assert not CollectionCase.objects.filter(loan=loan).exists()


def test_a_run_of_the_opener_is_one_system_audit_event_pointing_to_its_cases(make_npl, officer, today):
    npls = [make_npl(), make_npl(), make_npl(five_level_class="doubtful")]
    assert cases_open_for_non_performing(as_of=today) == 3
    event = AuditEvent.objects.get(event_type="system.cases_opened")
    assert event.actor is None
    run = CaseOpeningRun.objects.get()
    assert (event.subject_type, event.subject_id) == ("collections_app.caseopeningrun", run.pk)
    cases = CollectionCase.objects.filter(pk__gte=run.first_case_id, pk__lte=run.last_case_id, opened_on=run.as_of)
    assert set(cases.values_list("loan_id", flat=True)) == {loan.pk for loan in npls}
    assert event.new_values == {
        "as_of": today.isoformat(),
        "opened": 3,
        "first_case_id": run.first_case_id,
        "last_case_id": run.last_case_id,
        "actor": None,
    }
    # The cases are the history rows: no audit event per case, and a run that opens nothing writes nothing.
    assert not AuditEvent.objects.filter(event_type="case.opened").exists()
    assert cases_open_for_non_performing(as_of=today) == 0
    assert AuditEvent.objects.filter(event_type="system.cases_opened").count() == 1


def test_a_run_triggered_by_a_person_names_them(make_npl, manager, today):
    loan = make_npl()
    assert cases_open_for_non_performing(as_of=today, actor=manager, loan_ids=[loan.pk]) == 1
    run = CaseOpeningRun.objects.get()
    assert run.actor == manager and run.opened == 1
    assert CollectionCase.objects.get(loan=loan).opened_by == manager
    assert AuditEvent.objects.get(event_type="system.cases_opened").new_values["actor"] == manager.pk


_CASE_FIELDS = (
    "loan_id",
    "branch_id",
    "measure",
    "is_open",
    "officer_id",
    "recovery_deadline",
    "opened_on",
    "opened_by_id",
    "opening_reason",
    "measure_since",
    "ended_on",
    "next_promise_due",
    "limitation_starts_on",
    "limitation_expires_on",
    "urgency_on",
)


def _open_by(path: str, *, as_of, actor=None, loan_ids=None):
    """Run one path of the opener inside a savepoint, read what it wrote, then undo it."""
    savepoint = transaction.savepoint()
    opened = opening._open_cases(as_of=as_of, actor=actor, loan_ids=loan_ids, set_based=path == "set-based")
    cases = list(CollectionCase.objects.filter(opened_on=as_of, is_open=True).order_by("loan_id").values(*_CASE_FIELDS))
    runs = list(CaseOpeningRun.objects.values("as_of", "actor_id", "opened"))
    events = [
        {k: v for k, v in e.items() if not k.endswith("case_id")}
        for e in AuditEvent.objects.filter(event_type__startswith="system.").values_list("new_values", flat=True)
    ]
    transaction.savepoint_rollback(savepoint)
    return opened, cases, runs, events


def test_the_postgresql_and_the_portable_opener_open_the_same_cases(require_postgres, make_npl, manager, officer):
    as_of = date(2027, 3, 1)
    earlier = date(2025, 1, 10)
    make_npl(overdue_since=date(2024, 2, 29))  # a leap day: three years later is Feb 28
    make_npl(overdue_since=date(2026, 8, 31), five_level_class="loss", responsible_officer=None)
    make_npl(overdue_since=None, restructured_on=date(2025, 1, 31), five_level_class="doubtful")  # observed, done
    reopened = make_npl(overdue_since=date(2023, 5, 2))
    finished = CollectionCase.objects.create(
        loan=reopened,
        branch=reopened.branch,
        measure="recovered",
        is_open=False,
        recovery_deadline=earlier,
        opened_on=earlier,
        measure_since=earlier,
        urgency_on=earlier,
    )
    Recovery.objects.create(
        case=finished,
        received_on=date(2025, 6, 3),
        amount=Decimal("10.00"),
        principal=Decimal("10.00"),
        interest_on_balance=0,
        interest_off_balance=0,
    )
    Notice.objects.create(case=finished, served_on=date(2025, 9, 9), served_to="Wang Wei", signed_acknowledgement=True)
    # Refused: an open case, a closed claim, performing, nothing owed, in its observation period.
    case_open(loan=make_npl(), actor=officer, as_of=as_of - timedelta(days=3), reason="By hand")
    _closed_case(make_npl(five_level_class="loss"), earlier)
    make_npl(five_level_class="special_mention")
    make_npl(outstanding_principal=0, interest_on_balance=0, interest_off_balance=0)
    make_npl(overdue_since=None, restructured_on=date(2026, 12, 1))

    set_based = _open_by("set-based", as_of=as_of)
    portable = _open_by("portable", as_of=as_of)
    assert set_based == portable
    opened, cases, runs, events = set_based
    assert opened == 4 and len(cases) == 4 and runs[0]["opened"] == 4 and events[0]["opened"] == 4
    again = next(c for c in cases if c["loan_id"] == reopened.pk)
    assert again["limitation_starts_on"] == date(2025, 9, 9)  # the earlier case's signed notice counts
    # Limited to some loans and triggered by a person (the classification signal's way): the same too.
    some = [c["loan_id"] for c in cases[::2]]
    assert _open_by("set-based", as_of=as_of, actor=manager, loan_ids=some) == _open_by(
        "portable", as_of=as_of, actor=manager, loan_ids=some
    )
